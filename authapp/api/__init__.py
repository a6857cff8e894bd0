"""The JSON API blueprint, mounted at /api."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from authapp.api import account, auth, docs, health  # noqa: E402,F401  (routes register on bp)
