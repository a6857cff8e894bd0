"""Where a request came from, as sessions and audit events record it."""

from dataclasses import dataclass

from flask import request


@dataclass(frozen=True)
class Client:
    """A client's address and user agent; services take this instead of the request."""

    ip: str
    user_agent: str


SYSTEM = Client(ip="", user_agent="authapp-cli")


def current_client() -> Client:
    """The client of the current request."""
    return Client(ip=request.remote_addr or "", user_agent=request.user_agent.string or "")
