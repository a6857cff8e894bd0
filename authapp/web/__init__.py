"""The server-rendered pages blueprint."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from authapp.web import (  # noqa: E402,F401  (register on bp)
    admin,
    header,
    leaving,
    passkeys,
    reauth,
    recovery,
    times,
    two_factor,
    views,
)
