"""The one place that turns any error into a response.

API requests (``/api``) get RFC 9457 problem+json; pages get a friendly HTML
page.  Nothing a client sends reaches it as a stack trace.
"""

import logging
import time
import uuid
from typing import Any

import jwt as pyjwt
from flask import Flask, Response, jsonify, make_response, render_template, request
from flask_jwt_extended import exceptions as jwt_errors
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError as FormCSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from authapp.core.errors import PROBLEMS, TOKEN_ERROR_CODES, AuthError
from authapp.core.extensions import db
from authapp.http.headers import is_api_request

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
REALM = 'Bearer realm="authapp"'

# Codes for errors Flask or Werkzeug raise themselves (routing, body size, ...).
HTTP_STATUS_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                     413: "payload_too_large", 414: "uri_too_long",
                     415: "unsupported_media_type", 429: "rate_limited",
                     431: "request_header_fields_too_large", 503: "service_unavailable"}
# Friendlier headings for the HTML error page than the API's titles.
PAGE_TITLES = {"csrf_failed": "This form has expired", "not_found": "Page not found",
               "rate_limited": "Too many attempts", "internal_error": "Something went wrong",
               "service_unavailable": "We'll be right back"}
NOT_FOUND_DETAIL = "There is nothing at this address. The link may be old or mistyped."
def wants_problem_json() -> bool:
    """API paths answer problem+json; everything else answers HTML."""
    return is_api_request()


def problem(code: str, detail: str | None = None, *, errors: dict[str, list[str]] | None = None,
            headers: dict[str, str] | None = None,
            extra: dict[str, Any] | None = None) -> Response:
    """Build an RFC 9457 problem+json response for a contract error code."""
    status, title = PROBLEMS[code]
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
        "request_id": uuid.uuid4().hex,
    }
    if errors is not None:
        body["errors"] = errors
    body.update(extra or {})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    if status == 401:
        response.headers["WWW-Authenticate"] = _www_authenticate(code, body["detail"])
    response.headers.update(headers or {})
    return response


def _www_authenticate(code: str, detail: str) -> str:
    """RFC 6750 §3: name the error only when a token was actually presented."""
    if code not in TOKEN_ERROR_CODES:
        return REALM
    description = detail.replace('"', "'")
    return f'{REALM}, error="invalid_token", error_description="{description}"'


def error_response(code: str, detail: str | None = None,
                   **kwargs: Any) -> Response | tuple[str, int, dict[str, str]]:
    """problem+json on the API, the HTML error page elsewhere."""
    if wants_problem_json():
        return problem(code, detail, **kwargs)
    status, title = PROBLEMS[code]
    title = PAGE_TITLES.get(code, title)
    page = render_template("error.html", status=status, title=title, detail=detail)
    return page, status, kwargs.get("headers") or {}  # e.g. Retry-After on a 429 page


def retry_after_seconds() -> int:
    """Seconds until the limit that was just hit lets requests through again."""
    from authapp.http.ratelimits import current_limit

    current = current_limit()
    return max(1, int(current.reset_at - time.time())) if current else 60


# Flask-JWT-Extended and PyJWT exceptions -> our code and a safe detail; first match wins.
TOKEN_ERRORS: list[tuple[type[Exception], str, str]] = [
    (jwt_errors.CSRFError, "csrf_failed",
     "The X-CSRF-TOKEN header is missing or does not match the cookie."),
    (jwt_errors.NoAuthorizationError, "token_missing", "No token was sent."),
    (pyjwt.ExpiredSignatureError, "token_expired", "The token has expired."),
    (jwt_errors.RevokedTokenError, "token_revoked", "The token has been revoked."),
    (jwt_errors.FreshTokenRequired, "reauthentication_required",
     "This action needs a recent sign-in."),
    (jwt_errors.WrongTokenError, "token_invalid", "Wrong token type for this endpoint."),
]
TOKEN_INVALID = ("token_invalid",
                 "The token is malformed or its signature or claims are invalid.")


def _token_error_code(exc: Exception) -> tuple[str, str]:
    for exc_class, code, detail in TOKEN_ERRORS:
        if isinstance(exc, exc_class):
            return code, detail
    return TOKEN_INVALID


TOKEN_EXCEPTIONS = (
    jwt_errors.JWTExtendedException,
    pyjwt.PyJWTError,
)


def register_errorhandlers(app: Flask) -> None:
    """Install the handlers; must run after ``jwt.init_app`` so ours win."""

    @app.errorhandler(AuthError)
    def handle_auth_error(exc: AuthError):
        return error_response(exc.code, exc.detail, errors=exc.errors, headers=exc.headers,
                              extra=exc.extra)

    def handle_token_error(exc: Exception):
        code, detail = _token_error_code(exc)
        return error_response(code, detail)

    # Flask-JWT-Extended registers a handler per class; replace each of them.
    for exc_class in _subclasses(*TOKEN_EXCEPTIONS):
        app.register_error_handler(exc_class, handle_token_error)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        code = HTTP_STATUS_CODES.get(status, "bad_request" if status < 500 else "internal_error")
        headers = {}
        valid_methods = getattr(exc, "valid_methods", None)
        if valid_methods:
            headers["Allow"] = ", ".join(valid_methods)
        detail = exc.description if exc.code != 500 else None
        if status == 404:
            detail = NOT_FOUND_DETAIL
        if isinstance(exc, FormCSRFError):
            code = "csrf_failed"
            detail = ("This form expired or was sent from another site. "
                      "Go back, reload the page and try again.")
        response = make_response(error_response(code, detail, headers=headers))
        response.headers.update(headers)  # the HTML page too: a 405 names what is allowed
        return response

    @app.errorhandler(RateLimitExceeded)
    def handle_rate_limited(exc: RateLimitExceeded):
        from authapp.accounts import audit
        from authapp.http.client import current_client
        from authapp.http.ratelimits import first_refusal_this_minute

        wait = retry_after_seconds()
        if first_refusal_this_minute():
            audit.record_on_its_own("rate_limited", client=current_client(),
                                    endpoint=request.endpoint, limit=str(exc.limit.limit))
        return error_response("rate_limited",
                              f"Too many attempts. Please wait {wait} seconds and try again.",
                              headers={"Retry-After": str(wait)})

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    def handle_database_unavailable(exc: Exception):
        db.session.rollback()
        log.warning("database unavailable: %s", type(exc).__name__)
        return error_response("service_unavailable",
                              "The database is unavailable; try again shortly.",
                              headers={"Retry-After": "5"})

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response("internal_error", "Something went wrong on our side.")


def _subclasses(*roots: type) -> list[type]:
    found: list[type] = []
    stack = list(roots)
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(cls.__subclasses__())
    return found
