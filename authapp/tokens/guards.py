"""Guards that sit under ``@access_token_required`` and ask more of the request."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from authapp.accounts.reauthentication import require_recent_authentication
from authapp.tokens.verify import current_claims, current_principal


def recent_authentication_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow the view only if the session proved itself within ``REAUTH_MAX_AGE``
    (401 ``reauthentication_required`` with the account's ``methods`` otherwise)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        require_recent_authentication(current_claims(), current_principal())
        return view(*args, **kwargs)

    wrapped.authapp_recent_authentication = True  # type: ignore[attr-defined]
    return wrapped
