"""Production profile: gunicorn settings and JSON log lines."""

import json
import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def gunicorn_settings(**env: str) -> dict:
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        return runpy.run_path(str(REPO / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_gunicorn_workers_follow_the_cpu_count():
    settings = gunicorn_settings()
    assert settings["workers"] == (os.cpu_count() or 1) * 2 + 1
    assert gunicorn_settings(WEB_CONCURRENCY="3")["workers"] == 3


def test_gunicorn_access_log_has_no_query_string_or_headers():
    log_format = gunicorn_settings()["access_log_format"]
    assert "%(U)s" in log_format  # the path alone
    for leaky in ("%(r)s", "%(q)s", "}i)s", "}e)s"):  # request line, query, headers, environ
        assert leaky not in log_format


def test_production_logs_are_json_lines_and_audit_events_are_their_own_lines(tmp_path):
    """A real process: logging is set up once per process, so it is checked in a child."""
    script = f"""
import logging
from authapp import create_app
from authapp.core.extensions import db
app = create_app({{"ENV_NAME": "production", "SECRET_KEY": {secrets.token_urlsafe(40)!r},
                  "JWT_SECRET_KEY": {secrets.token_urlsafe(40)!r},
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'prod.sqlite3'}"}})
with app.app_context():
    db.create_all()
client = app.test_client()
client.post("/api/auth/register", json={{"username": "carol", "password": "correct horse battery"}})
logging.getLogger("authapp.something").warning("plain %s", "message")
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    audit = [line for line in lines if line.get("event") == "register"]
    assert len(audit) == 1 and audit[0]["ip"] == "127.0.0.1"
    plain = [line for line in lines if line.get("message") == "plain message"]
    assert plain and plain[0]["level"] == "WARNING" and plain[0]["logger"] == "authapp.something"
    assert "correct horse battery" not in done.stderr
