"""Page sign-in state kept in the access and refresh cookies.

A page request with a missing or expired access cookie but a valid refresh
cookie is renewed here through the same rotation code the API uses, reuse
detection included.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Response, after_this_request, current_app, g, redirect, request, url_for
from flask_jwt_extended import unset_jwt_cookies

from authapp.accounts import sessions, users
from authapp.accounts.revocation import Principal
from authapp.accounts.users import Account
from authapp.core.errors import AuthError, TokenError
from authapp.http.client import current_client
from authapp.tokens.mint import issue_tokens, token_expiry
from authapp.tokens.verify import decode_verified, load_principal


def _cookie_claims(cookie_key: str, token_type: str, *, allow_expired: bool = False
                   ) -> tuple[str, dict[str, Any]] | None:
    """The raw token in a cookie and its verified claims, if it is a valid ``token_type``."""
    token = request.cookies.get(current_app.config[cookie_key])
    if not token:
        return None
    try:
        claims = decode_verified(token, token_type, allow_expired=allow_expired)
    except TokenError:
        return None
    return token, claims


def page_principal() -> Principal | None:
    """The signed-in user of this page request, renewing the access cookie if needed."""
    if "page_principal" not in g:
        g.page_principal = _authenticate_from_cookies()
    return g.page_principal


def _authenticate_from_cookies() -> Principal | None:
    access = _cookie_claims("JWT_ACCESS_COOKIE_NAME", "access")
    if access is not None and (principal := load_principal(access[1])) is not None:
        return principal
    refresh = _cookie_claims("JWT_REFRESH_COOKIE_NAME", "refresh")
    if refresh is None:
        return None
    claims = refresh[1]
    try:
        rotation = sessions.rotate(claims["sid"], claims["jti"], int(claims["sub"]),
                                   current_client())
    except AuthError:  # revoked, or reused: a theft signal that just revoked the session
        after_this_request(_clear_cookies)
        return None
    tokens = issue_tokens(rotation.grant, refresh_jti=rotation.refresh_jti, fresh=False)

    @after_this_request
    def _set_renewed_cookies(response: Response) -> Response:
        tokens.set_cookies(response, access=True)
        return response

    user = users.get_user(rotation.grant.user_id)
    return Principal(user.id, user.username, user.created_at, rotation.grant.session_id,
                     rotation.grant.roles, user.email, user.email_verified_at is not None)


def _clear_cookies(response: Response) -> Response:
    unset_jwt_cookies(response)
    return response


def sign_in(response: Response, user: Account, amr: tuple[str, ...] = ("pwd",)) -> Response:
    """Start a session for ``user`` (proved by ``amr``) and put its tokens in cookies."""
    session = sessions.start_session(user.id, current_client(), amr=amr, role_names=user.roles)
    tokens = issue_tokens(session.grant, refresh_jti=session.refresh_jti, fresh=True)
    tokens.set_cookies(response, access=True)
    return response


def sign_out(response: Response) -> Response:
    """Revoke this browser's session and its access token, and clear the cookies."""
    access = _cookie_claims("JWT_ACCESS_COOKIE_NAME", "access", allow_expired=True)
    refresh = _cookie_claims("JWT_REFRESH_COOKIE_NAME", "refresh", allow_expired=True)
    claims = (access or refresh or (None, None))[1]
    if claims and isinstance(claims.get("sid"), str):
        sessions.revoke_session(claims["sid"], "logout", user_id=int(claims["sub"]),
                                client=current_client(), event="logout")
    if access:
        sessions.revoke_token(access[1]["jti"], "access", int(access[1]["sub"]),
                              token_expiry(access[1]), "logout")
    return _clear_cookies(response)


def login_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send visitors who are not signed in to the login page, remembering where they were."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if page_principal() is None:
            target = request.full_path if request.query_string else request.path
            return redirect(url_for("web.login", next=target))
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: never an open redirect."""
    if not target or not target.startswith("/") or "\\" in target:
        return default
    decoded = target
    for _ in range(3):  # catch %2F%2F, %252F%252F and the like
        decoded = unquote(decoded)
    if decoded.startswith("//") or "\\" in decoded or any(ord(ch) < 32 for ch in decoded):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
