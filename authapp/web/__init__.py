"""The server-rendered pages blueprint."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from authapp.web import header, recovery, times, views  # noqa: E402,F401  (register on bp)
