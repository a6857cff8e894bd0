"""Over-long request targets (414) and header fields (431), answered by the app itself.

gunicorn's own limits (gunicorn.conf.py) sit a little above these, so a request that
gets past gunicorn is refused here with problem+json (or the error page), never with
gunicorn's bare HTML. Runs before anything reads a cookie or a token.
"""

from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge

# Headers the WSGI server passes without the HTTP_ prefix.
UNPREFIXED_HEADERS = ("CONTENT_TYPE", "CONTENT_LENGTH")


def request_target_length(environ: dict[str, Any]) -> int:
    """Bytes of the path and query string as the client sent them."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is not None:
        return len(raw)
    query = environ.get("QUERY_STRING", "")
    return len(environ.get("PATH_INFO", "")) + (len(query) + 1 if query else 0)


def longest_header_field(environ: dict[str, Any]) -> int:
    """Length of the longest ``Name: value`` header line (names counted without the prefix)."""
    longest = max((len(environ[key]) + len(key) for key in UNPREFIXED_HEADERS
                   if key in environ), default=0)
    for key, value in environ.items():  # a plain loop: this runs on every request
        if key[:5] == "HTTP_" and len(key) - 5 + len(value) > longest:
            longest = len(key) - 5 + len(value)
    return longest + len(": ")


def check_request_limits() -> None:
    """``before_request``: 414 for a long request target, 431 for an oversized header field."""
    config = current_app.config
    if request_target_length(request.environ) > config["MAX_REQUEST_TARGET_BYTES"]:
        raise RequestURITooLarge(f"The address is longer than "
                                 f"{config['MAX_REQUEST_TARGET_BYTES']} bytes.")
    if longest_header_field(request.environ) > config["MAX_HEADER_FIELD_BYTES"]:
        raise RequestHeaderFieldsTooLarge(f"A request header is longer than "
                                          f"{config['MAX_HEADER_FIELD_BYTES']} bytes.")
