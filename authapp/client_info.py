"""The calling client's address and user agent, as sessions record them."""

from flask import request

from .sessions import Client


def current_client() -> Client:
    """The client of the current request."""
    return Client(ip=request.remote_addr or "", user_agent=request.user_agent.string or "")
