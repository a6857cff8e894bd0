"""Log output: readable text in development, one JSON object per line in production.

Audit events (logger ``authapp.audit``) are already JSON lines and are written
as they are, so a log shipper can parse every line on its own.
"""

import logging
import sys

from flask import Flask
from pythonjsonlogger.json import JsonFormatter

AUDIT_LOGGER = "authapp.audit"


def configure_logging(app: Flask) -> None:
    """Set up handlers once per process; tests keep pytest's own capture instead."""
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
