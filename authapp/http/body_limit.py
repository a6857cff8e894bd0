"""Enforce the request-body limit for bodies without a Content-Length.

Werkzeug stops reading a chunked body at ``MAX_CONTENT_LENGTH`` but does not
tell the view it was cut short, so an oversized body could be parsed
truncated. This middleware buffers such bodies up to one byte past the limit
and lets ``check_body_size`` answer 413 when that byte exists.
"""

import io
from collections.abc import Callable, Iterable
from typing import Any

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

TOO_LARGE = "authapp.body_too_large"


class BodySizeLimit:
    """WSGI middleware: give unsized request bodies a Content-Length, or flag them."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], max_bytes: int) -> None:
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH") in (None, "") and environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read(self.max_bytes + 1)
            if len(body) > self.max_bytes:
                environ[TOO_LARGE] = True
                body = b""
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.wsgi_app(environ, start_response)


def check_body_size() -> None:
    """``before_request``: 413 for a body the middleware found too large."""
    if request.environ.get(TOO_LARGE):
        raise RequestEntityTooLarge()
