"""Security headers on every response, pages and API alike."""

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
HSTS = "max-age=31536000; includeSubDomains"

# No inline script or style, no framing, no sniffing, no cross-site referrers.
EVERY_RESPONSE = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
# API answers carry tokens or personal data: no cache may keep them.
API_RESPONSES = [("Cache-Control", "no-store"), ("Pragma", "no-cache")]
# Every page can show who is signed in (the header) and carries per-visitor CSRF tokens,
# so no HTML answer may be kept either (ASVS 14.3.2). Static files stay cacheable.
PAGE_CACHE_CONTROL = "no-store"


def is_api_request() -> bool:
    """True for requests to the JSON API under /api."""
    return request.path == "/api" or request.path.startswith("/api/")


class PageSessionInterface(SecureCookieSessionInterface):
    """The Flask session (flash messages, page CSRF) belongs to the pages.

    API requests never read or write it, so they skip verifying its cookie.
    """

    def open_session(self, app: Flask, request):  # type: ignore[override]
        if request.path.startswith("/api/"):
            return None  # Flask substitutes a null session
        return super().open_session(app, request)


def register_security_headers(app: Flask) -> None:
    """Add the headers in one ``after_request``; headers are appended, views set none of them."""
    headers = list(EVERY_RESPONSE)
    if app.config["ENV_NAME"] == "production":
        headers.append(("Strict-Transport-Security", HSTS))
    api_headers = headers + API_RESPONSES

    def add_security_headers(response: Response) -> Response:
        if is_api_request():
            response.headers.extend(api_headers)
            return response
        own_referrer_policy = response.headers.get("Referrer-Policy")
        response.headers.extend(headers)
        if own_referrer_policy:  # a page that serves a mailed link says no-referrer, once
            response.headers["Referrer-Policy"] = own_referrer_policy
        if response.mimetype == "text/html":
            response.headers["Cache-Control"] = PAGE_CACHE_CONTROL
        return response

    app.after_request(add_security_headers)
    app.session_interface = PageSessionInterface()
