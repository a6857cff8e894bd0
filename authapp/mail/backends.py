"""Where mail goes: an SMTP server (production) or ``.eml`` files (development)."""

import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any, Protocol

SMTP_TIMEOUT_SECONDS = 10


class Backend(Protocol):
    def send(self, message: EmailMessage) -> None: ...


def build_message(sender: str, recipient: str, subject: str, text_body: str,
                  html_body: str) -> EmailMessage:
    """A multipart/alternative mail: the plain-text part first, then the HTML part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(text_body, cte=_transfer_encoding(text_body))
    message.add_alternative(html_body, subtype="html", cte=_transfer_encoding(html_body))
    return message


def _transfer_encoding(body: str) -> str:
    """7bit for ASCII, so a long link stays one line in an ``.eml`` read as text (quoted-
    printable would break it with soft line breaks); quoted-printable otherwise."""
    return "7bit" if body.isascii() else "quoted-printable"


class SMTPBackend:
    """Delivers through ``MAIL_SERVER``: STARTTLS with ``MAIL_USE_TLS``, TLS with
    ``MAIL_USE_SSL``, and a login when ``MAIL_USERNAME`` is set."""

    def __init__(self, config: Any) -> None:
        self.host = config["MAIL_SERVER"]
        self.port = int(config["MAIL_PORT"])
        self.use_tls = bool(config["MAIL_USE_TLS"])
        self.use_ssl = bool(config["MAIL_USE_SSL"])
        self.username = config["MAIL_USERNAME"]
        self.password = config["MAIL_PASSWORD"]

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.use_ssl:
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port,
                                                    timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if self.use_tls and not self.use_ssl:
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)


class FileBackend:
    """Writes each message to ``<directory>/<time>-<id>.eml``, for development."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, message: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S.%f}-{uuid.uuid4().hex[:8]}.eml"
        (self.directory / name).write_bytes(bytes(message))


def backend_for(config: Any, instance_path: str) -> Backend:
    """The configured backend (``MAIL_BACKEND``: ``smtp`` or ``file``)."""
    if config["MAIL_BACKEND"] == "file":
        return FileBackend(Path(config["MAIL_FILE_DIRECTORY"] or Path(instance_path) / "mail"))
    if config["MAIL_BACKEND"] == "smtp":
        return SMTPBackend(config)
    raise RuntimeError(f"MAIL_BACKEND must be 'smtp' or 'file', not {config['MAIL_BACKEND']!r}")
