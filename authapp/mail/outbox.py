"""Queueing mail: a row in the outbox, in the transaction of the change that causes it.

Nothing here talks to a mail server, so a request never waits for SMTP and a
change that is rolled back takes its mail with it. The delivery worker
(mail/worker.py) sends what is queued.
"""

from datetime import datetime
from typing import Any

from flask import current_app, render_template
from sqlalchemy import insert

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import OutboxMessage

# template name (templates/email/<name>.txt and .html) -> subject
SUBJECTS = {
    "verify_email": "Confirm your email address",
    "signup_attempt": "Someone tried to sign up with your address",
    "reset_password": "Reset your password",
    "password_changed": "Your password was changed",
    "confirm_email_change": "Confirm your new email address",
    "email_changed": "Your email address was changed",
    "goodbye": "Your account was deleted",
    "mfa_enabled": "Two-factor sign-in is on",
    "mfa_disabled": "Two-factor sign-in was turned off",
    "recovery_code_used": "A recovery code was used to sign in",
}
MESSAGE = "message"
PASSWORD_FORGOT = "password_forgot"  # noqa: S105  (a job kind, not a password)
QUEUED = "authapp.mail_queued"
_outbox = OutboxMessage.__table__
INSERT_MESSAGE = insert(_outbox)


def public_url(path: str) -> str:
    """An absolute link to ``path`` on this service (``PUBLIC_URL`` + path).

    Never built from the request's Host header, which a client chooses.
    """
    base = current_app.config["PUBLIC_URL"]
    if not base:
        raise RuntimeError("PUBLIC_URL is not set: mailed links need the service's own address")
    return base.rstrip("/") + path


def queue_mail(recipient: str, template: str, **context: Any) -> None:
    """Render ``template`` for ``recipient`` and queue it in the current transaction."""
    context = {"site": public_url("/"), **context}
    _queue(MESSAGE, recipient, SUBJECTS[template],
           render_template(f"email/{template}.txt", **context),
           render_template(f"email/{template}.html", **context))


def queue_password_forgot(email: str) -> None:
    """Queue the work of a forgot-password request: the worker decides what to mail."""
    _queue(PASSWORD_FORGOT, email, "", "", "")


def _queue(kind: str, recipient: str, subject: str, text_body: str, html_body: str) -> None:
    now: datetime = utcnow()
    db.session.execute(INSERT_MESSAGE, {
        "created_at": now, "kind": kind, "recipient": recipient, "subject": subject,
        "text_body": text_body, "html_body": html_body, "status": "pending", "attempts": 0,
        "next_attempt_at": now, "claimed_until": None, "sent_at": None, "last_error": None,
    })
    db.session.info[QUEUED] = True  # wakes this process's worker once the transaction commits
