"""Log output: readable text in development, one JSON object per line in production.

Audit events (logger ``authapp.audit``) are already JSON lines and are written
as they are, so a log shipper can parse every line on its own.
"""

import logging
import re
import sys

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

AUDIT_LOGGER = "authapp.audit"
# Mailed links carry their token in the path (SPEC §8): no log line may record it.
LINK_TOKEN = re.compile(r"(/(?:verify-email|reset-password|confirm-email)/)[^/?#\s\"]+")


def redact_link_tokens(text: str) -> str:
    """``text`` with the token of every mailed-link path replaced."""
    return LINK_TOKEN.sub(r"\1[redacted]", text)


class RedactLinkTokens(logging.Filter):
    """Rewrites a record's message without the tokens of mailed links (the development
    server logs each request line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_link_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def configure_logging(app: Flask) -> None:
    """Set up handlers once per process; tests keep pytest's own capture instead."""
    werkzeug = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactLinkTokens) for f in werkzeug.filters):
        werkzeug.addFilter(RedactLinkTokens())
    if app.testing or getattr(configure_logging, "done", False):
        return
    configure_logging.done = True  # type: ignore[attr-defined]
    as_json = app.config["LOG_FORMAT"] == "json"
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                      rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})
        if as_json else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])

    audit_handler = logging.StreamHandler(sys.stderr)
    audit_handler.setFormatter(logging.Formatter("%(message)s"))
    audit = logging.getLogger(AUDIT_LOGGER)
    audit.addHandler(audit_handler)
    audit.setLevel(logging.INFO)
    audit.propagate = False
