"""Rate limits, declared beside the routes they guard: ``@rate_limit(*LOGIN)``.

Counters live in ``RATELIMIT_STORAGE_URI`` (``memory://`` by default; Redis
so every instance shares them). Each limit names its configuration string
(such as ``"10/minute"``, see config.py) and a scope: routes that declare the
same scope count together, so the login page and the login API share one
budget. The decorator may sit under a token decorator, so a limit keyed by a
token's claims only ever sees verified claims. Each app gets its own
``Limiter``, so two apps in one process never share settings or counters.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Flask, Response, current_app, request, session
from flask_limiter import Limiter, RequestLimit
from limits import parse as parse_limit
from limits.strategies import FixedWindowRateLimiter

from authapp.accounts.addresses import address_key
from authapp.accounts.usernames import username_key
from authapp.http.headers import is_api_request
from authapp.http.json_body import json_body_or_none
from authapp.mfa.challenges import pending_account
from authapp.tokens.verify import current_claims, current_principal

EXTENSION_KEY = "authapp.limiter"
CHECKS_KEY = "authapp.limit_checks"
AUDITED_REFUSALS_KEY = "authapp.audited_refusals"
AUDITED_REFUSALS = parse_limit("1/minute")  # per limit and client
USERNAME_KEY_MAX = 64
ADDRESS_KEY_MAX = 254


@dataclass(frozen=True)
class Limit:
    """One limit: its configured rate, shared scope, key, and which answers count."""

    setting: str  # the config key holding the rate, e.g. "RATELIMIT_LOGIN_PER_IP"
    scope: str
    key: Callable[[], str]  # an empty key exempts the request from this limit
    counts: Callable[[Response], bool] | None = None  # None: every request counts
    methods: tuple[str, ...] | None = None  # None: every method


def client_ip() -> str:
    """The client address (ProxyFix has already applied the trusted-proxy rule)."""
    return request.remote_addr or "unknown"


def _submitted_fields() -> Mapping[str, Any]:
    """What the view reads: the API's JSON reader, or the page's posted form."""
    return (json_body_or_none() or {}) if is_api_request() else request.form


def attempted_username() -> str:
    """The account a sign-in attempt names ('' when the body names none)."""
    value = _submitted_fields().get("username")
    return username_key(value)[:USERNAME_KEY_MAX] if isinstance(value, str) else ""


def attempted_address() -> str:
    """The address a forgot-password request names, compared without regard to case."""
    value = _submitted_fields().get("email")
    return address_key(value)[:ADDRESS_KEY_MAX] if isinstance(value, str) else ""


def signed_in_account() -> str:
    """The account of the verified access token."""
    return str(current_principal().id)


def signed_in_username() -> str:
    """The account of the verified access token, keyed like a sign-in attempt."""
    return username_key(current_principal().username)[:USERNAME_KEY_MAX]


def verified_session() -> str:
    """The session of the verified refresh token, else the client address."""
    sid = current_claims().get("sid")
    return f"session:{sid}" if isinstance(sid, str) else f"ip:{client_ip()}"


def failed(response: Response) -> bool:
    return response.status_code >= 400


def wrong_current_password(response: Response) -> bool:
    """A password change refused because ``current_password`` was not the password."""
    if response.status_code != 422:
        return False
    body = response.get_json(silent=True)
    return isinstance(body, dict) and "current_password" in (body.get("errors") or {})


FAILED_LOGINS = "login-username"
LOGIN = (
    Limit("RATELIMIT_LOGIN_PER_IP", "login-ip", client_ip, methods=("POST",)),
    Limit("RATELIMIT_LOGIN_PER_USERNAME", FAILED_LOGINS, attempted_username, counts=failed,
          methods=("POST",)),
)
REGISTER = (Limit("RATELIMIT_REGISTER_PER_IP", "register-ip", client_ip, methods=("POST",)),)
REFRESH_PER_IP = (Limit("RATELIMIT_REFRESH_PER_IP", "refresh-ip", client_ip),)
# Under @refresh_token_required: a forged token never reaches a session's budget.
REFRESH_PER_SESSION = (Limit("RATELIMIT_REFRESH_PER_SESSION", "refresh-session",
                             verified_session),)
# Under @access_token_required: guesses at the current password count as failed sign-ins.
PASSWORD_GUESSES = (Limit("RATELIMIT_LOGIN_PER_USERNAME", FAILED_LOGINS, signed_in_username,
                          counts=wrong_current_password),)

# Under @access_token_required: re-authentication is limited like a sign-in (SPEC §9).
REAUTHENTICATION = (
    Limit("RATELIMIT_LOGIN_PER_IP", "login-ip", client_ip, methods=("POST",)),
    Limit("RATELIMIT_LOGIN_PER_USERNAME", FAILED_LOGINS, signed_in_username, counts=failed,
          methods=("POST",)),
)

FORGOT = (
    Limit("RATELIMIT_FORGOT_PER_IP", "forgot-ip", client_ip, methods=("POST",)),
    Limit("RATELIMIT_FORGOT_PER_EMAIL", "forgot-email", attempted_address, methods=("POST",)),
)
# Under @access_token_required: verification resends and address changes, per account.
EMAIL_PER_ACCOUNT = (Limit("RATELIMIT_EMAIL_PER_ACCOUNT", "email-account", signed_in_account),)

PENDING_SIGN_IN = "authapp_mfa_token"  # the Flask session key of a page sign-in's mfa_token


def pending_sign_in_account() -> str:
    """The account a second-factor step is for (its ``mfa_token``: the API's body, or the
    page's Flask session); '' when no live sign-in is named."""
    token = (_submitted_fields().get("mfa_token") if is_api_request()
             else session.get(PENDING_SIGN_IN))
    user_id = pending_account(token)
    return "" if user_id is None else str(user_id)


# The second step of a sign-in (SPEC §10): every try per IP, wrong codes per account.
MFA = (
    Limit("RATELIMIT_MFA_PER_IP", "mfa-ip", client_ip, methods=("POST",)),
    Limit("RATELIMIT_MFA_PER_ACCOUNT", "mfa-account", pending_sign_in_account, counts=failed,
          methods=("POST",)),
)
# Under @access_token_required: codes tried on the account's own settings.
MFA_CODES = (Limit("RATELIMIT_MFA_PER_ACCOUNT", "mfa-account", signed_in_account,
                   counts=failed),)

_DECLARED: dict[Callable[..., Any], tuple[Limit, ...]] = {}


def rate_limit(*limits: Limit) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Check ``limits`` each time the decorated view runs (in this app's limiter)."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            current_app.extensions[CHECKS_KEY][limited]()  # raises RateLimitExceeded
            return view(*args, **kwargs)

        _DECLARED[limited] = limits
        return limited

    return decorate


def declared_limits(view: Callable[..., Any]) -> list[Limit]:
    """Every limit declared on ``view`` or on a function it wraps."""
    found: list[Limit] = []
    while view is not None:
        found.extend(_DECLARED.get(view, ()))
        view = getattr(view, "__wrapped__", None)
    return found


def _check(limiter: Limiter, view: Callable[..., Any], limits: tuple[Limit, ...]) -> Callable:
    """A no-op that Flask-Limiter wraps with ``limits``; calling it checks them."""

    def check() -> None:
        """Flask-Limiter checks its limits before this runs."""

    # Flask-Limiter files decorated limits under the callable's name: one name per declaration.
    check.__module__ = view.__module__
    check.__name__ = check.__qualname__ = (
        f"{view.__qualname__}[{','.join(limit.scope for limit in limits)}]")
    for limit in limits:
        check = limiter.shared_limit(
            _configured(limit.setting), scope=limit.scope, key_func=limit.key,
            exempt_when=lambda key=limit.key: not key(), deduct_when=limit.counts,
            methods=list(limit.methods) if limit.methods else None)(check)
    return check


def _configured(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


def register_rate_limits(app: Flask) -> None:
    """Create this app's limiter and one check per declared limit (after blueprints mount)."""
    limiter = Limiter(key_func=client_ip)
    limiter.init_app(app)
    app.extensions[EXTENSION_KEY] = limiter
    app.extensions[CHECKS_KEY] = {view: _check(limiter, view, limits)
                                  for view, limits in _DECLARED.items()}


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
