"""Cross-site defences in front of the token checks: Fetch Metadata, Origin, CORS.

A browser tells us where a request comes from (``Sec-Fetch-Site``, ``Origin``).
State-changing requests that a browser marks as cross-site are refused before
any CSRF token is looked at, unless their origin is on the CORS allowlist.
Requests with an ``Authorization`` header (Bearer) carry no ambient
credentials and are not affected; clients that send neither header (curl,
scripts) are judged by the token checks alone.
"""

from flask import Flask, Response, current_app, request
from flask_cors import CORS

from authapp.http.problems import error_response

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TRUSTED_FETCH_SITES = frozenset({"same-origin", "none"})


def _allowed_origin(origin: str | None) -> bool:
    if not origin or origin == "null":
        return False
    own = request.host_url.rstrip("/")
    return origin == own or origin in current_app.config["CORS_ORIGINS"]


def is_cross_site() -> bool:
    """True when a browser says this request comes from a site we do not trust."""
    origin = request.headers.get("Origin")
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in TRUSTED_FETCH_SITES:
        return not _allowed_origin(origin)
    # A same-origin page under Referrer-Policy: no-referrer (one serving a mailed link) posts
    # Origin: null; Sec-Fetch-Site is the browser's own word that it came from here.
    if origin is not None and not (origin == "null" and fetch_site == "same-origin"):
        return not _allowed_origin(origin)
    return False


def refuse_cross_site_requests() -> Response | None:
    """``before_request``: 403 for cross-site state changes that ride on cookies."""
    if request.method not in STATE_CHANGING or "Authorization" in request.headers:
        return None
    if is_cross_site():
        return error_response("csrf_failed",
                              "Cross-site requests may not change anything here.")
    return None


def register_cors(app: Flask) -> None:
    """CORS for the API, only for the listed origins."""
    origins = app.config["CORS_ORIGINS"]
    if origins:
        CORS(app, resources={r"/api/*": {"origins": origins}}, supports_credentials=True,
             allow_headers=["Authorization", "Content-Type", "X-CSRF-TOKEN"],
             expose_headers=["Retry-After", "WWW-Authenticate"], max_age=600)
