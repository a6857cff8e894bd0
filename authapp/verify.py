"""Access-token verification in one decode, for every access-token request.

Flask-JWT-Extended's ``@jwt_required()`` decodes the header three times and
the payload twice per request; this does the same checks with a single
verified decode: where the token may come from (the Authorization header,
else the access cookie with its double-submit CSRF header on state-changing
methods), signature with the configured algorithms only, ``exp``/``nbf``/
``iat``, ``iss``, ``aud``, no key-choosing header parameters, token type,
and the revocation check. Errors are the extension's exception classes, so
errors.py answers them exactly as before.
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

from .revocation import Principal
from .tokens import FORBIDDEN_HEADER_PARAMS, load_principal

REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "jti"]
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


def _token_and_csrf() -> tuple[str, str | None]:
    """The raw token and, for a cookie on a state-changing method, the CSRF header."""
    token = _token_from_header()
    if token is not None:
        return token, None
    config = current_app.config
    token = request.cookies.get(config["JWT_ACCESS_COOKIE_NAME"])
    if not token:
        raise NoAuthorizationError("Missing token")
    if config["JWT_COOKIE_CSRF_PROTECT"] and request.method in config["JWT_CSRF_METHODS"]:
        csrf = request.headers.get(config["JWT_ACCESS_CSRF_HEADER_NAME"])
        if not csrf:
            raise CSRFError("Missing CSRF token")
        return token, csrf
    return token, None


def decode_access_token(token: str, csrf: str | None = None) -> dict[str, Any]:
    """Verified claims of an access token (signature, times, iss, aud, header, type, CSRF)."""
    config = current_app.config
    decoded = pyjwt.api_jwt.decode_complete(
        token, config["JWT_SECRET_KEY"], algorithms=config["JWT_DECODE_ALGORITHMS"],
        audience=config["JWT_DECODE_AUDIENCE"], issuer=config["JWT_DECODE_ISSUER"],
        leeway=config["JWT_DECODE_LEEWAY"], options={"require": REQUIRED_CLAIMS})
    if FORBIDDEN_HEADER_PARAMS & decoded["header"].keys():
        raise pyjwt.InvalidTokenError("unsupported JOSE header parameter")
    claims = decoded["payload"]
    if claims.get("type", "access") != "access":
        raise WrongTokenError("Only non-refresh tokens are allowed")
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
        token, csrf = _token_and_csrf()
        claims = decode_access_token(token, csrf)
        principal = load_principal(claims)
        if principal is None:
            raise RevokedTokenError({}, claims)
        g.authapp_claims = claims
        g.authapp_principal = principal
        return view(*args, **kwargs)

    return wrapped


def current_claims() -> dict[str, Any]:
    """The verified claims of this request's access token."""
    return g.authapp_claims


def current_principal() -> Principal:
    """The signed-in account of this request."""
    return g.authapp_principal
