"""One class per JWT type: its name, its lifetime setting and the claims it must carry.

A new type (say, a short-lived step-up token) is a few lines here; minting and
verification read everything they need from these objects.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app

# Claims every token we mint carries, whatever its type (SPEC §3).
BASE_CLAIMS = ("type", "sub", "sid", "jti", "iat", "nbf", "exp", "iss", "aud", "auth_time",
               "amr", "fresh")


@dataclass(frozen=True)
class TokenType:
    """A kind of token: access tokens open the API, refresh tokens only renew them."""

    name: str
    lifetime_setting: str  # config key, in seconds
    cookie_setting: str  # config key of the cookie that may carry it
    csrf_header_setting: str  # config key of its double-submit header
    required_claims: tuple[str, ...] = BASE_CLAIMS

    def lifetime(self, config: Any = None) -> timedelta:
        """How long a token of this type lives (before any session cap)."""
        return timedelta(seconds=(config or current_app.config)[self.lifetime_setting])


# Access tokens also name the account's roles (SPEC §13; informational, the database decides).
ACCESS = TokenType("access", "JWT_ACCESS_TOKEN_EXPIRES", "JWT_ACCESS_COOKIE_NAME",
                   "JWT_ACCESS_CSRF_HEADER_NAME", (*BASE_CLAIMS, "roles"))
REFRESH = TokenType("refresh", "JWT_REFRESH_TOKEN_EXPIRES", "JWT_REFRESH_COOKIE_NAME",
                    "JWT_REFRESH_CSRF_HEADER_NAME")
TOKEN_TYPES: dict[str, TokenType] = {kind.name: kind for kind in (ACCESS, REFRESH)}
