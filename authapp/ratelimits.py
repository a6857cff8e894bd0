"""Rate limits on sign-in, sign-up and refresh, shared by the API and the pages.

Counters live in ``RATELIMIT_STORAGE_URI`` (``memory://`` by default; Redis
so every instance shares them). Limits are configuration strings such as
``"10/minute"``; see config.py for the defaults.
"""

from collections.abc import Callable
from typing import Any

import jwt as pyjwt
from flask import Response, current_app, request

from .extensions import limiter
from .usernames import username_key

USERNAME_KEY_MAX = 64


def client_ip() -> str:
    """The client address (ProxyFix has already applied the trusted-proxy rule)."""
    return request.remote_addr or "unknown"


def _attempted_username() -> str:
    """The username a sign-in attempt names, from the JSON body or the form."""
    if request.is_json:
        body = request.get_json(silent=True)
        value = body.get("username") if isinstance(body, dict) else None
    else:
        value = request.form.get("username")
    return username_key(value)[:USERNAME_KEY_MAX] if isinstance(value, str) else ""


def _refresh_session() -> str:
    """The session a refresh is for (from the unverified token), else the client IP."""
    header = request.headers.get("Authorization", "")
    token = header[7:] if header.startswith("Bearer ") else request.cookies.get(
        current_app.config["JWT_REFRESH_COOKIE_NAME"], "")
    try:
        sid = pyjwt.decode(token, options={"verify_signature": False}).get("sid")
    except pyjwt.PyJWTError:
        sid = None
    return f"session:{sid}" if isinstance(sid, str) else f"ip:{client_ip()}"


def _failed(response: Response) -> bool:
    return response.status_code >= 400


def _configured(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


login_per_ip = limiter.shared_limit(_configured("RATELIMIT_LOGIN_PER_IP"), scope="login-ip",
                                    key_func=client_ip, methods=["POST"])
login_per_username = limiter.shared_limit(
    _configured("RATELIMIT_LOGIN_PER_USERNAME"), scope="login-username",
    key_func=_attempted_username, methods=["POST"], deduct_when=_failed)
register_per_ip = limiter.shared_limit(_configured("RATELIMIT_REGISTER_PER_IP"),
                                       scope="register-ip", key_func=client_ip,
                                       methods=["POST"])
refresh_per_session = limiter.shared_limit(_configured("RATELIMIT_REFRESH_PER_SESSION"),
                                           scope="refresh-session", key_func=_refresh_session)
refresh_per_ip = limiter.shared_limit(_configured("RATELIMIT_REFRESH_PER_IP"),
                                      scope="refresh-ip", key_func=client_ip)


def login_limits(view: Callable[..., Any]) -> Callable[..., Any]:
    """Per client IP (every attempt) and per username (failed attempts only)."""
    return login_per_ip(login_per_username(view))


def refresh_limits(view: Callable[..., Any]) -> Callable[..., Any]:
    """Per session and per client IP."""
    return refresh_per_ip(refresh_per_session(view))
