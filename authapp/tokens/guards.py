"""Guards that sit under ``@access_token_required`` (or Flask-JWT-Extended's
``@jwt_required()``) and ask more of the request."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import g

from authapp.accounts.reauthentication import require_recent_authentication
from authapp.core.errors import Forbidden
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


def roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Allow the view only to accounts that hold every one of ``roles`` now (403
    ``forbidden`` otherwise).

    The roles are the ones the per-request check just read from the database,
    never the token's ``roles`` claim, so a role taken away counts at once.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            principal = g.get("authapp_principal")  # set by either token decorator
            if principal is None or not principal.has_roles(*roles):
                raise Forbidden("Your account does not have the role this needs.")
            return view(*args, **kwargs)

        wrapped.authapp_roles = roles  # type: ignore[attr-defined]
        return wrapped

    return decorate
