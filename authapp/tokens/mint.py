"""Issuing tokens, setting their cookies, and checking revocation per request."""

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
from flask import Response, current_app
from flask_jwt_extended import set_access_cookies, set_refresh_cookies

from authapp.accounts.revocation import Principal, find_principal
from authapp.core.clock import utcnow
from authapp.core.extensions import jwt
from authapp.db.models import MAX_USER_ID

# Header parameters that would let a token choose its own key: never honoured.
FORBIDDEN_HEADER_PARAMS = frozenset({"jku", "x5u", "jwk", "x5c", "crit"})

# The identifying claims exactly as minted here. A signed token whose claims differ is
# refused before any of them reaches the database (no NUL, no user id past the column).
IDENTITY_CLAIM_FORMATS = {
    "jti": re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
    "sid": re.compile(r"[0-9a-f]{32}"),
    "sub": re.compile(r"[1-9][0-9]{0,9}"),
}


def identity_claims_problem(claims: dict[str, Any]) -> str | None:
    """Which identifying claim of a verified token is not in its minted form, if any."""
    for name, pattern in IDENTITY_CLAIM_FORMATS.items():
        if not isinstance(claims[name], str) or not pattern.fullmatch(claims[name]):
            return name
    return "sub" if int(claims["sub"]) > MAX_USER_ID else None


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


def issue_tokens(user_id: int, session_id: str, session_expires_at: datetime, *,
                 refresh_jti: str | None, fresh: bool) -> IssuedTokens:
    """Mint an access token, and a refresh token when ``refresh_jti`` is given."""
    config = current_app.config
    now = utcnow()
    remaining = session_expires_at - now
    access_lifetime = min(timedelta(seconds=config["JWT_ACCESS_TOKEN_EXPIRES"]), remaining)
    refresh_lifetime = min(timedelta(seconds=config["JWT_REFRESH_TOKEN_EXPIRES"]), remaining)
    subject = str(user_id)
    access = _mint("access", subject, session_id, str(uuid.uuid4()), now, access_lifetime,
                   fresh=fresh)
    refresh = None
    if refresh_jti is not None:
        refresh = _mint("refresh", subject, session_id, refresh_jti, now, refresh_lifetime,
                        fresh=False)
    return IssuedTokens(access, int(access_lifetime.total_seconds()), refresh,
                        int(refresh_lifetime.total_seconds()))


def _mint(token_type: str, subject: str, session_id: str, jti: str, now: datetime,
          lifetime: timedelta, *, fresh: bool) -> str:
    """One signed token with the claims Flask-JWT-Extended would write (SPEC: Tokens).

    Signed straight with PyJWT: the extension's create_*_token re-reads its
    whole configuration on every call, which doubled the cost of a refresh.
    ``csrf`` is the double-submit value the cookie flow checks.
    """
    config = current_app.config
    issued_at = int(now.timestamp())
    claims = {
        "fresh": fresh, "iat": issued_at, "jti": jti, "type": token_type, "sub": subject,
        "nbf": issued_at, "exp": int((now + lifetime).timestamp()), "sid": session_id,
        "iss": config["JWT_ENCODE_ISSUER"], "aud": config["JWT_ENCODE_AUDIENCE"],
    }
    if config["JWT_COOKIE_CSRF_PROTECT"] and "cookies" in config["JWT_TOKEN_LOCATION"]:
        claims["csrf"] = str(uuid.uuid4())
    return pyjwt.encode(claims, config["JWT_SECRET_KEY"], algorithm=config["JWT_ALGORITHM"])


def token_expiry(claims: dict[str, Any]) -> datetime:
    """A decoded token's ``exp`` as an aware datetime."""
    return datetime.fromtimestamp(claims["exp"], UTC)


@jwt.decode_key_loader
def _decode_key(jwt_header: dict, _payload: dict) -> str:
    """The configured key, always; a token never picks its key or extensions."""
    if FORBIDDEN_HEADER_PARAMS & jwt_header.keys():
        raise pyjwt.InvalidTokenError("unsupported JOSE header parameter")
    return current_app.config["JWT_SECRET_KEY"]


def load_principal(claims: dict[str, Any]) -> Principal | None:
    """The account behind a verified access token's claims, or None if it is revoked."""
    return find_principal(claims["jti"], claims["sid"], claims["sub"])
