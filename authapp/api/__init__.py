"""The JSON API blueprint, mounted at /api."""

from flask import Blueprint, Response

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.after_request
def no_content_has_no_type(response: Response) -> Response:
    """A 204 has no body, so it names no media type (Flask's default is text/html)."""
    if response.status_code == 204:
        response.headers.pop("Content-Type", None)
    return response


from authapp.api import (  # noqa: E402,F401  (routes register on bp)
    account,
    admin,
    auth,
    docs,
    email,
    health,
    leaving,
    mfa,
    passkeys,
    reauthentication,
)
