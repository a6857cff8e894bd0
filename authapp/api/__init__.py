"""The JSON API blueprint, mounted at /api."""

from flask import Blueprint, Response

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.after_request
def never_cache(response: Response) -> Response:
    """API answers carry tokens or personal data: no cache may keep them."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


from . import account, auth, health  # noqa: E402,F401  (routes register on bp)
