"""Issuing tokens and setting their cookies.

Tokens are signed straight with PyJWT by the key set's signing key, with the
claims of SPEC §3 and a ``kid`` header. (Flask-JWT-Extended's
``create_*_token`` re-reads its whole configuration on every call, which
doubled the cost of a refresh.)
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Response, current_app
from flask_jwt_extended import set_access_cookies, set_refresh_cookies

from authapp.core.clock import utcnow
from authapp.tokens.jws import signed
from authapp.tokens.keys import key_set
from authapp.tokens.types import ACCESS, REFRESH, TokenType


@dataclass(frozen=True)
class Grant:
    """What a token vouches for: a session of a user, proved at ``auth_time`` by ``amr``."""

    user_id: int
    session_id: str
    session_expires_at: datetime
    auth_time: datetime
    amr: tuple[str, ...]
    roles: tuple[str, ...] = ()  # as the session's store read them; access tokens name them


@dataclass(frozen=True)
class IssuedTokens:
    """What a sign-in or refresh hands out. ``refresh_token`` is None for a grace answer."""

    access_token: str
    expires_in: int
    refresh_token: str | None
    refresh_max_age: int

    def body(self, *, include_refresh: bool) -> dict[str, Any]:
        """The JSON body of a token response."""
        body: dict[str, Any] = {"access_token": self.access_token, "token_type": "Bearer",
                                "expires_in": self.expires_in}
        if include_refresh and self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body

    def set_cookies(self, response: Response, *, access: bool = False) -> None:
        """Set the refresh cookie (if a new token was minted) and optionally the access cookie."""
        if self.refresh_token:
            set_refresh_cookies(response, self.refresh_token, max_age=self.refresh_max_age)
        if access:
            set_access_cookies(response, self.access_token, max_age=self.expires_in)


def new_jti() -> str:
    """A fresh token id."""
    return str(uuid.uuid4())


def issue_tokens(grant: Grant, *, refresh_jti: str | None, fresh: bool) -> IssuedTokens:
    """Mint an access token, and a refresh token when ``refresh_jti`` is given.

    Neither outlives the session.
    """
    now = utcnow()
    remaining = grant.session_expires_at - now
    access_lifetime = min(ACCESS.lifetime(), remaining)
    refresh_lifetime = min(REFRESH.lifetime(), remaining)
    access = _mint(ACCESS, grant, new_jti(), now, access_lifetime, fresh=fresh)
    refresh = None
    if refresh_jti is not None:
        refresh = _mint(REFRESH, grant, refresh_jti, now, refresh_lifetime, fresh=False)
    return IssuedTokens(access, int(access_lifetime.total_seconds()), refresh,
                        int(refresh_lifetime.total_seconds()))


def _mint(token_type: TokenType, grant: Grant, jti: str, now: datetime, lifetime: timedelta,
          *, fresh: bool) -> str:
    """One signed token. ``csrf`` is the double-submit value the cookie flow checks."""
    config = current_app.config
    issued_at = int(now.timestamp())
    claims = {
        "type": token_type.name, "sub": str(grant.user_id), "sid": grant.session_id,
        "jti": jti, "iat": issued_at, "nbf": issued_at,
        "exp": issued_at + int(lifetime.total_seconds()),
        "iss": config["JWT_ENCODE_ISSUER"], "aud": config["JWT_ENCODE_AUDIENCE"],
        "auth_time": min(int(grant.auth_time.timestamp()), issued_at),
        "amr": list(grant.amr), "fresh": fresh,
    }
    if "roles" in token_type.required_claims:
        claims["roles"] = list(grant.roles)
    if config["JWT_COOKIE_CSRF_PROTECT"] and "cookies" in config["JWT_TOKEN_LOCATION"]:
        claims["csrf"] = str(uuid.uuid4())
    return signed(claims, key_set().signing)


def token_expiry(claims: dict[str, Any]) -> datetime:
    """A decoded token's ``exp`` as an aware datetime."""
    return datetime.fromtimestamp(claims["exp"], UTC)
