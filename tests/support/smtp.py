"""A real SMTP server for mail tests (aiosmtpd), on a free port, stopped afterwards."""

import email
import email.policy
import re
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from support.live_server import free_port


class Inbox:
    """Every message the server accepted, parsed."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


class SMTPServer:
    """aiosmtpd on 127.0.0.1; ``stop`` and ``start`` again on the same port (an outage)."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> dict[str, object]:
        return {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port}


def text_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_part(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def link_token(message: EmailMessage, path: str) -> str:
    """The token of the ``/<path>/<token>`` link in a mail's text part."""
    found = re.search(rf"/{path}/([A-Za-z0-9_-]+)", text_part(message))
    assert found, text_part(message)
    return found.group(1)
