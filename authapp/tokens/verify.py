"""Token verification in one decode, for every authenticated request of ours.

The pipeline, each step a function below: find the raw token where the
contract allows it (the Authorization header, else the type's cookie with its
double-submit CSRF header on state-changing methods) → check it is in the
compact form we mint, take the key its ``kid`` names from our key set (the
algorithm comes from the key) and verify the signature (tokens/jws.py) → check
every claim has the form we mint, ``iss``, ``aud``, ``iat`` and ``nbf``
included (tokens/claims.py) → ``exp`` → for access tokens, the revocation check that also loads
the account. Every failure is one of our TokenError classes.

Flask-JWT-Extended's ``@jwt_required()`` runs the same key and claim rules and
the same revocation check through the loaders in tokens/extension.py.
"""

import re
import time
from collections.abc import Callable
from functools import wraps
from hmac import compare_digest
from typing import Any

from flask import current_app, g, request

from authapp.accounts.revocation import Principal, find_principal
from authapp.core.errors import CSRFFailed, TokenExpired, TokenInvalid, TokenMissing, TokenRevoked
from authapp.tokens.claims import check_claims
from authapp.tokens.jws import verified_payload
from authapp.tokens.keys import key_set
from authapp.tokens.types import ACCESS, REFRESH, TokenType

_SCHEMES = re.compile(r",\s*")


def _token_from_header() -> str | None:
    """The Bearer token of the Authorization header, None if there is none."""
    header = request.headers.get("Authorization", "").strip().strip(",")
    if not header:
        return None
    bearer = [value for value in _SCHEMES.split(header) if value and value.split()[0] == "Bearer"]
    if len(bearer) != 1:
        return None  # another scheme only: look for a cookie instead
    parts = bearer[0].split()
    if len(parts) != 2:
        raise TokenInvalid("Bad Authorization header. Expected 'Authorization: Bearer <JWT>'.")
    return parts[1]


def _token_and_csrf(token_type: TokenType) -> tuple[str, str | None, str]:
    """The raw token, the CSRF header when a cookie rides a state-changing method, and
    where the token came from (``headers`` or ``cookies``)."""
    token = _token_from_header()
    if token is not None:
        return token, None, "headers"
    config = current_app.config
    token = request.cookies.get(config[token_type.cookie_setting])
    if not token:
        raise TokenMissing("No token was sent.")
    if config["JWT_COOKIE_CSRF_PROTECT"] and request.method in config["JWT_CSRF_METHODS"]:
        csrf = request.headers.get(config[token_type.csrf_header_setting])
        if not csrf:
            raise CSRFFailed("The X-CSRF-TOKEN header is missing or does not match the cookie.")
        return token, csrf, "cookies"
    return token, None, "cookies"


def decode_verified(token: str, token_type: str, csrf: str | None = None, *,
                    allow_expired: bool = False) -> dict[str, Any]:
    """Verified claims of a ``token_type`` token, or a TokenError.

    ``allow_expired`` only serves sign-out, which must find the session of a stale cookie.
    """
    config = current_app.config
    claims = verified_payload(token, key_set())
    check_claims(claims, token_type, config)
    if not allow_expired and claims["exp"] <= time.time() - config["JWT_DECODE_LEEWAY"]:
        raise TokenExpired("The token has expired.")
    if csrf is not None and not (isinstance(claims.get("csrf"), str)
                                 and compare_digest(claims["csrf"], csrf)):
        raise CSRFFailed("The X-CSRF-TOKEN header is missing or does not match the cookie.")
    return claims


def load_principal(claims: dict[str, Any]) -> Principal | None:
    """The account behind verified claims, or None if the token or its session is revoked."""
    return find_principal(claims["jti"], claims["sid"], claims["sub"])


def access_token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow the view only with a valid, unrevoked access token (see module docstring)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token, csrf, location = _token_and_csrf(ACCESS)
        claims = decode_verified(token, ACCESS.name, csrf)
        principal = load_principal(claims)
        if principal is None:
            raise TokenRevoked("The token has been revoked.")
        g.authapp_claims = claims
        g.authapp_principal = principal
        g.authapp_token_location = location
        return view(*args, **kwargs)

    wrapped.authapp_token_type = ACCESS.name  # type: ignore[attr-defined]
    return wrapped


def refresh_token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow the view only with a validly signed refresh token; rotation judges the rest."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token, csrf, location = _token_and_csrf(REFRESH)
        g.authapp_claims = decode_verified(token, REFRESH.name, csrf)
        g.authapp_token_location = location
        return view(*args, **kwargs)

    wrapped.authapp_token_type = REFRESH.name  # type: ignore[attr-defined]
    return wrapped


def token_location() -> str:
    """Where this request's token came from: ``headers`` or ``cookies``."""
    return g.authapp_token_location


def current_claims() -> dict[str, Any]:
    """The verified claims of this request's token."""
    return g.authapp_claims


def current_principal() -> Principal:
    """The signed-in account of this request."""
    return g.authapp_principal
