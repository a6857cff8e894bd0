"""The server-rendered pages blueprint."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from authapp.web import header, views  # noqa: E402,F401  (routes register on bp)
