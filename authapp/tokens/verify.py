"""Token verification in one decode, for every authenticated API request.

Flask-JWT-Extended's ``@jwt_required()`` decodes the header three times and
the payload twice per request; this does the same checks with a single
verified decode: where the token may come from (the Authorization header,
else the access cookie with its double-submit CSRF header on state-changing
methods), signature with the configured algorithms only, ``exp``/``nbf``/
``iat``, ``iss``, ``aud``, no key-choosing header parameters, token type,
identity claims in the form they were minted, and the revocation check.
Errors are the extension's exception classes, so errors.py answers them
exactly as before.
"""

import re
from collections.abc import Callable
from functools import wraps
from hmac import compare_digest
from typing import Any

import jwt as pyjwt
from flask import current_app, g, request
from flask_jwt_extended.exceptions import (
    CSRFError,
    InvalidHeaderError,
    JWTDecodeError,
    NoAuthorizationError,
    RevokedTokenError,
    WrongTokenError,
)

from authapp.accounts.revocation import Principal
from authapp.tokens.mint import FORBIDDEN_HEADER_PARAMS, identity_claims_problem, load_principal

REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "jti", "sid"]
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
        raise InvalidHeaderError("Bad Authorization header. Expected 'Authorization: Bearer <JWT>'")
    return parts[1]


COOKIE_SETTINGS = {  # token type -> (cookie name key, CSRF header name key)
    "access": ("JWT_ACCESS_COOKIE_NAME", "JWT_ACCESS_CSRF_HEADER_NAME"),
    "refresh": ("JWT_REFRESH_COOKIE_NAME", "JWT_REFRESH_CSRF_HEADER_NAME"),
}


def _token_and_csrf(token_type: str) -> tuple[str, str | None, str]:
    """The raw token, the CSRF header when a cookie rides a state-changing method, and
    where the token came from (``headers`` or ``cookies``)."""
    token = _token_from_header()
    if token is not None:
        return token, None, "headers"
    config = current_app.config
    cookie_key, csrf_key = COOKIE_SETTINGS[token_type]
    token = request.cookies.get(config[cookie_key])
    if not token:
        raise NoAuthorizationError("Missing token")
    if config["JWT_COOKIE_CSRF_PROTECT"] and request.method in config["JWT_CSRF_METHODS"]:
        csrf = request.headers.get(config[csrf_key])
        if not csrf:
            raise CSRFError("Missing CSRF token")
        return token, csrf, "cookies"
    return token, None, "cookies"


def decode_verified(token: str, token_type: str, csrf: str | None = None, *,
                    allow_expired: bool = False) -> dict[str, Any]:
    """Verified claims of a ``token_type`` token (signature, times, iss, aud, header, CSRF).

    ``allow_expired`` only serves sign-out, which must find the session of a stale cookie.
    """
    config = current_app.config
    decoded = pyjwt.api_jwt.decode_complete(
        token, config["JWT_SECRET_KEY"], algorithms=config["JWT_DECODE_ALGORITHMS"],
        audience=config["JWT_DECODE_AUDIENCE"], issuer=config["JWT_DECODE_ISSUER"],
        leeway=config["JWT_DECODE_LEEWAY"],
        options={"require": REQUIRED_CLAIMS, "verify_exp": not allow_expired})
    if FORBIDDEN_HEADER_PARAMS & decoded["header"].keys():
        raise pyjwt.InvalidTokenError("unsupported JOSE header parameter")
    claims = decoded["payload"]
    if claims.get("type", "access") != token_type:
        raise WrongTokenError(f"Only {token_type} tokens are allowed")
    if malformed := identity_claims_problem(claims):
        raise pyjwt.InvalidTokenError(f"malformed {malformed} claim")
    if csrf is not None:
        if not isinstance(claims.get("csrf"), str):
            raise JWTDecodeError("Missing claim: csrf")
        if not compare_digest(claims["csrf"], csrf):
            raise CSRFError("CSRF double submit tokens do not match")
    return claims


def access_token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow the view only with a valid, unrevoked access token (see module docstring)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token, csrf, _ = _token_and_csrf("access")
        claims = decode_verified(token, "access", csrf)
        principal = load_principal(claims)
        if principal is None:
            raise RevokedTokenError({}, claims)
        g.authapp_claims = claims
        g.authapp_principal = principal
        return view(*args, **kwargs)

    return wrapped


def refresh_token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Allow the view only with a validly signed refresh token; rotation judges the rest."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        token, csrf, location = _token_and_csrf("refresh")
        g.authapp_claims = decode_verified(token, "refresh", csrf)
        g.authapp_token_location = location
        return view(*args, **kwargs)

    return wrapped


def token_location() -> str:
    """Where this request's token came from: ``headers`` or ``cookies``."""
    return g.authapp_token_location


def current_claims() -> dict[str, Any]:
    """The verified claims of this request's access token."""
    return g.authapp_claims


def current_principal() -> Principal:
    """The signed-in account of this request."""
    return g.authapp_principal
