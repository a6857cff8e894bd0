"""Page guards: a role for a page, with a friendly 403 page for everyone else."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from authapp.core.errors import Forbidden
from authapp.web.signin import login_required, page_principal


def page_roles_required(*roles: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Visitors sign in first; signed-in accounts without every one of ``roles`` (as the
    database holds them now) see the 403 page."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not page_principal().has_roles(*roles):
                raise Forbidden("This page is for accounts with a role yours does not have. "
                                "If you think you should see it, ask an administrator.")
            return view(*args, **kwargs)

        return login_required(wrapped)

    return decorate
