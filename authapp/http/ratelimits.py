"""Rate limits on sign-in, sign-up and refresh, shared by the API and the pages.

Counters live in ``RATELIMIT_STORAGE_URI`` (``memory://`` by default; Redis
so every instance shares them). Limits are configuration strings such as
``"10/minute"``; see config.py for the defaults. Each app gets its own
``Limiter``, so two apps in one process never share settings or counters.
"""

from collections.abc import Callable
from typing import Any

import jwt as pyjwt
from flask import Flask, Response, current_app, request
from flask_limiter import Limiter, RequestLimit
from limits import parse as parse_limit
from limits.strategies import FixedWindowRateLimiter

from authapp.accounts.usernames import username_key

EXTENSION_KEY = "authapp.limiter"
AUDITED_REFUSALS_KEY = "authapp.audited_refusals"
AUDITED_REFUSALS = parse_limit("1/minute")  # per limit and client
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


def _limits(limiter: Limiter) -> dict[str, list[Callable[[Any], Any]]]:
    """Endpoint -> limits. Shared scopes make the page and the API count together."""
    login = [
        limiter.shared_limit(_configured("RATELIMIT_LOGIN_PER_IP"), scope="login-ip",
                             key_func=client_ip, methods=["POST"]),
        limiter.shared_limit(_configured("RATELIMIT_LOGIN_PER_USERNAME"),
                             scope="login-username", key_func=_attempted_username,
                             methods=["POST"], deduct_when=_failed),  # failed attempts only
    ]
    register = [limiter.shared_limit(_configured("RATELIMIT_REGISTER_PER_IP"),
                                     scope="register-ip", key_func=client_ip, methods=["POST"])]
    refresh = [
        limiter.shared_limit(_configured("RATELIMIT_REFRESH_PER_SESSION"),
                             scope="refresh-session", key_func=_refresh_session),
        limiter.shared_limit(_configured("RATELIMIT_REFRESH_PER_IP"), scope="refresh-ip",
                             key_func=client_ip),
    ]
    return {"api.login": login, "web.login": login, "api.register": register,
            "web.register": register, "api.refresh": refresh}


def register_rate_limits(app: Flask) -> None:
    """Create this app's limiter and wrap the limited views (after blueprints are mounted)."""
    limiter = Limiter(key_func=client_ip)
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    for endpoint, limits in _limits(limiter).items():
        view = app.view_functions[endpoint]
        for limit in limits:
            view = limit(view)
        app.view_functions[endpoint] = view


def current_limit() -> RequestLimit | None:
    """The limit the current request was checked against, if any."""
    return current_app.extensions[EXTENSION_KEY].current_limit


def first_refusal_this_minute() -> bool:
    """True for the first refused request of a limit and client in a clock minute.

    Only that one is audited: a row per refusal would let a flood of refused
    requests drive a database write each. Counted in the limiter's own
    storage, so with Redis the whole fleet writes one event per minute.
    """
    counter = current_app.extensions.get(AUDITED_REFUSALS_KEY)
    if counter is None:
        storage = current_app.extensions[EXTENSION_KEY].limiter.storage
        counter = current_app.extensions[AUDITED_REFUSALS_KEY] = FixedWindowRateLimiter(storage)
    limit = current_limit()
    key = limit.key if limit else f"ip:{client_ip()}"
    return counter.hit(AUDITED_REFUSALS, "audited-refusal", key)
