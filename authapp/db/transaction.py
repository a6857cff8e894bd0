"""The one transaction rule: flows own the transaction, services never commit.

A flow is a public function that carries out one thing a user or operator
asked for (sign in, refresh, change a password, revoke a session) and is
marked ``@flow``. The outermost flow commits when it returns, and also when it
ends in one of our own errors, because what a refused request wrote is meant
to stay (the ``login_failed`` event of a wrong password, the revocation that a
reused refresh token triggers). Any other exception rolls everything back. A
flow called from inside another joins it, so a multi-step sign-in commits
once, all or nothing. Everything else only adds to the current transaction.
"""

from collections.abc import Callable
from contextvars import ContextVar
from functools import wraps
from typing import ParamSpec, TypeVar

from authapp.core.errors import AuthError
from authapp.core.extensions import db

P = ParamSpec("P")
R = TypeVar("R")
_depth: ContextVar[int] = ContextVar("authapp_flow_depth", default=0)


def flow(function: Callable[P, R]) -> Callable[P, R]:
    """Run ``function`` as a flow: commit at the outermost end (see the module docstring)."""

    @wraps(function)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        depth = _depth.get()
        token = _depth.set(depth + 1)
        try:
            result = function(*args, **kwargs)
        except AuthError:
            if depth == 0:
                db.session.commit()
            raise
        except BaseException:
            if depth == 0:
                db.session.rollback()
            raise
        finally:
            _depth.reset(token)
        if depth == 0:
            db.session.commit()
        return result

    return wrapped
