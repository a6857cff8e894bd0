"""``flask auth doctor``: would the loaded configuration be safe in production?

The checks are pure functions of a config mapping, so tests need no app. They
judge every configuration as if it were about to serve production traffic,
whatever ``AUTHAPP_ENV`` says, so the development defaults are expected to fail.

Severity, decided once here:

- ``error`` fails the command (exit 1): anything that lets tokens or cookies
  leak, lets an attacker guess or forge something, or breaks the promise that
  any number of instances share one state (SPEC §2).
- ``warning`` is printed but passes: settings that are right for some
  deployments and wrong for others, which the configuration alone cannot tell.

Decisions on the borderline settings:

- ``JWT_DECODE_LEEWAY``: 0 is right; 1-30 seconds is a warning (it absorbs
  clock skew between hosts, but every expired or not-yet-valid token is
  accepted that much longer); above 30 seconds is an error.
- ``RATELIMIT_STORAGE_URI`` ``memory://`` is an error, not a warning: every
  gunicorn worker and every instance counts on its own and forgets on restart,
  so even one machine multiplies the limits by its worker count.
- ``TRUSTED_PROXY_COUNT`` 0 is a warning: right when clients connect directly,
  wrong behind a load balancer (client addresses and HTTPS are then unknown).
- ``PASSWORD_BREACH_CHECK`` ``off`` is a warning, and only when ``ENV_NAME`` is
  production (whose default turns it on): a server without a route to the
  service may have to leave it off. An unknown value is an error, as it checks nothing.
- Signing keys (judged with the stored key rows the CLI reads): no standby key
  for an asymmetric ``JWT_ALGORITHM`` is a warning (the next rotation has to wait
  for one to be published), and so is an active key older than ``MAX_KEY_AGE``.
  A missing or weak ``JWT_KEY_ENCRYPTION_KEY`` with such an algorithm is an error
  (with the other secrets).
- ``MFA_ENCRYPTION_KEY`` missing, weak or shared with another secret is an error
  whatever the algorithm: it seals every account's TOTP secret, and without it
  nobody can turn two-factor sign-in on.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from authapp.core.configuration import (
    KNOWN_SECRETS,
    MFA_ENCRYPTION_KEY,
    MIN_DISTINCT_CHARS,
    MIN_SECRET_BYTES,
    SECRET_KEYS,
    secret_problems,
)
from authapp.core.serving import ConnectionBudget

ERROR = "error"
WARNING = "warning"
MIN_BCRYPT_ROUNDS = 12
MAX_ACCESS_TOKEN_SECONDS = 3600
MAX_LEEWAY_SECONDS = 30
HOST_PREFIX = "__Host-"
MAX_KEY_AGE = timedelta(days=90)
RANDOM_VALUE_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, which setting, and what to do about it."""

    severity: Literal["error", "warning"]
    setting: str
    message: str


Check = Callable[[Mapping[str, Any]], Iterator[Finding]]


def diagnose(config: Mapping[str, Any], *, budget: ConnectionBudget | None = None,
             max_connections: int | None = None, signing_keys: Sequence[Any] | None = None,
             now: datetime | None = None) -> list[Finding]:
    """Every production-safety problem in ``config``, errors first; empty when all is well.

    With the serving processes' connection ``budget`` and the database server's
    ``max_connections`` (the CLI reads both), an over-committed server is flagged too;
    with the stored ``signing_keys`` rows, their ages and the standby key are judged.
    """
    findings = [finding for check in CHECKS for finding in check(config)]
    if budget is not None and max_connections is not None:
        findings.extend(_connections(budget, max_connections))
    if signing_keys is not None and now is not None:
        findings.extend(_signing_keys(config, signing_keys, now))
    return sorted(findings, key=lambda finding: finding.severity != ERROR)


def _connections(budget: ConnectionBudget, max_connections: int) -> Iterator[Finding]:
    if budget.total > max_connections:
        yield Finding(WARNING, "SQLALCHEMY_ENGINE_OPTIONS", f"{budget.workers} workers x "
                      f"{budget.per_worker} connections ({budget.threads} threads: pooled + "
                      f"direct) may open {budget.total} connections, more than the server's "
                      f"max_connections ({max_connections}); lower WEB_CONCURRENCY, "
                      "AUTHAPP_THREADS or pool_size, or put PgBouncer in front.")


def _signing_keys(config: Mapping[str, Any], rows: Sequence[Any],
                  now: datetime) -> Iterator[Finding]:
    algorithm = config.get("JWT_ALGORITHM", "HS256")
    if algorithm == "HS256":
        return
    mine = {row.state: row for row in rows if row.algorithm == algorithm}
    if "standby" not in mine:
        yield Finding(WARNING, "JWT_ALGORITHM", f"no standby {algorithm} key is published, so "
                      "the next rotation has to wait for one; run `flask keys generate`.")
    active = mine.get("active")
    if active is not None and now - (active.activated_at or active.created_at) > MAX_KEY_AGE:
        yield Finding(WARNING, "JWT_ALGORITHM", f"the active {algorithm} key is older than "
                      f"{MAX_KEY_AGE.days} days; run `flask keys rotate` (or daily from cron: "
                      "`flask keys rotate --if-older-than 30d`).")


def signing_summary(config: Mapping[str, Any], rows: Sequence[Any], now: datetime) -> str:
    """One line for the operator: the asymmetric algorithm and the age of each live key
    ('' with HS256, whose secrets the findings above already judge)."""
    algorithm = config.get("JWT_ALGORITHM", "HS256")
    if algorithm == "HS256":
        return ""
    ages = [f"{row.state} key {row.kid} {(now - row.created_at).days} days old"
            for row in rows if row.algorithm == algorithm and row.state in ("active", "standby")]
    return f"Signing: {algorithm}; " + ("; ".join(ages) or "no keys yet (made on first use)")


def _environment(config: Mapping[str, Any]) -> Iterator[Finding]:
    env = config.get("ENV_NAME", "development")
    if env != "production":
        yield Finding(ERROR, "ENV_NAME", f"the environment is {env!r}; set AUTHAPP_ENV=production "
                      "(start-up secret check, HSTS, __Host- cookies, JSON logs).")
    if config.get("DEBUG"):
        yield Finding(ERROR, "DEBUG", "debug mode is on (the debugger runs arbitrary code); "
                      "unset FLASK_DEBUG and AUTHAPP_DEBUG.")
    if config.get("TESTING"):
        yield Finding(ERROR, "TESTING", "testing mode is on; unset AUTHAPP_TESTING.")


def _secrets(config: Mapping[str, Any]) -> Iterator[Finding]:
    for setting, message in secret_problems(config):
        yield Finding(ERROR, setting, f"{message} Generate one with: {RANDOM_VALUE_COMMAND}")


def _mfa_encryption_key(config: Mapping[str, Any]) -> Iterator[Finding]:
    value = config.get(MFA_ENCRYPTION_KEY)
    if not value or len(str(value).encode()) < MIN_SECRET_BYTES:
        yield Finding(ERROR, MFA_ENCRYPTION_KEY, f"{MFA_ENCRYPTION_KEY} seals the TOTP secrets "
                      f"and must be a random value of at least {MIN_SECRET_BYTES} bytes "
                      f"(AUTHAPP_{MFA_ENCRYPTION_KEY}); generate one with: "
                      f"{RANDOM_VALUE_COMMAND}")
    elif value in KNOWN_SECRETS or len(set(str(value))) < MIN_DISTINCT_CHARS:
        yield Finding(ERROR, MFA_ENCRYPTION_KEY, f"{MFA_ENCRYPTION_KEY} is a published or "
                      f"low-entropy value; generate one with: {RANDOM_VALUE_COMMAND}")
    elif value in {config.get(key) for key in (*SECRET_KEYS, "JWT_KEY_ENCRYPTION_KEY")}:
        yield Finding(ERROR, MFA_ENCRYPTION_KEY, f"{MFA_ENCRYPTION_KEY} must differ from the "
                      "other secrets; give it its own random value.")


def _cookies(config: Mapping[str, Any]) -> Iterator[Finding]:
    if not config.get("JWT_COOKIE_SECURE", False):
        yield Finding(ERROR, "JWT_COOKIE_SECURE", "token cookies would travel over plain HTTP; "
                      "set AUTHAPP_JWT_COOKIE_SECURE=true.")
    samesite = config.get("JWT_COOKIE_SAMESITE")
    if samesite is None:
        yield Finding(WARNING, "JWT_COOKIE_SAMESITE", "token cookies carry no SameSite "
                      "attribute and browsers differ on the default; set it to \"Lax\".")
    elif str(samesite).lower() == "none" and not config.get("CORS_ORIGINS"):
        yield Finding(ERROR, "JWT_COOKIE_SAMESITE", "SameSite=None sends the token cookies "
                      "with cross-site requests although no CORS_ORIGINS need it; "
                      "set it to \"Lax\".")
    for setting in ("JWT_ACCESS_COOKIE_NAME", "JWT_REFRESH_COOKIE_NAME"):
        name = str(config.get(setting, ""))
        if not name.startswith(HOST_PREFIX):
            yield Finding(ERROR, setting, f"cookie {name!r} lacks the {HOST_PREFIX} prefix that "
                          "pins it to this host over HTTPS; AUTHAPP_ENV=production sets it.")
    if not config.get("SESSION_COOKIE_SECURE", False):
        yield Finding(ERROR, "SESSION_COOKIE_SECURE", "the Flask session cookie would travel "
                      "over plain HTTP; set AUTHAPP_SESSION_COOKIE_SECURE=true.")
    if not config.get("SESSION_COOKIE_SAMESITE"):
        yield Finding(ERROR, "SESSION_COOKIE_SAMESITE", "the Flask session cookie has no "
                      "SameSite attribute; set it to \"Lax\".")


def _csrf(config: Mapping[str, Any]) -> Iterator[Finding]:
    if not config.get("JWT_COOKIE_CSRF_PROTECT", True):
        yield Finding(ERROR, "JWT_COOKIE_CSRF_PROTECT", "cookie-authenticated API requests skip "
                      "the X-CSRF-TOKEN check; set AUTHAPP_JWT_COOKIE_CSRF_PROTECT=true.")
    if not config.get("WTF_CSRF_ENABLED", True):
        yield Finding(ERROR, "WTF_CSRF_ENABLED", "page forms are not CSRF-protected; "
                      "set AUTHAPP_WTF_CSRF_ENABLED=true.")


def _tokens(config: Mapping[str, Any]) -> Iterator[Finding]:
    configured = config.get("JWT_ACCESS_TOKEN_EXPIRES", 900)
    lifetime = _seconds(configured)
    if configured is False or lifetime == 0:
        yield Finding(ERROR, "JWT_ACCESS_TOKEN_EXPIRES", "access tokens would never expire "
                      f"(0/false); set it to at most {MAX_ACCESS_TOKEN_SECONDS} seconds "
                      "(900 is the default).")
    elif lifetime is None or lifetime < 0:
        yield Finding(ERROR, "JWT_ACCESS_TOKEN_EXPIRES", f"{configured!r} is not a lifetime; "
                      f"set it to seconds, at most {MAX_ACCESS_TOKEN_SECONDS} "
                      "(900 is the default).")
    elif lifetime > MAX_ACCESS_TOKEN_SECONDS:
        yield Finding(ERROR, "JWT_ACCESS_TOKEN_EXPIRES", f"access tokens live {lifetime:g} s; "
                      f"keep them short-lived, at most {MAX_ACCESS_TOKEN_SECONDS} seconds "
                      "(900 is the default).")
    leeway = _seconds(config.get("JWT_DECODE_LEEWAY") or 0)
    if leeway is None:
        yield Finding(ERROR, "JWT_DECODE_LEEWAY", "must be a number of seconds; set it to 0.")
    elif leeway > MAX_LEEWAY_SECONDS:
        yield Finding(ERROR, "JWT_DECODE_LEEWAY", f"expired tokens are accepted {leeway:g} s "
                      f"late; set it to 0, or at most {MAX_LEEWAY_SECONDS} to absorb clock skew.")
    elif leeway > 0:
        yield Finding(WARNING, "JWT_DECODE_LEEWAY", f"expired tokens are accepted {leeway:g} s "
                      "late; prefer 0 with synchronised clocks (NTP).")


def _passwords(config: Mapping[str, Any]) -> Iterator[Finding]:
    rounds = config.get("BCRYPT_LOG_ROUNDS", MIN_BCRYPT_ROUNDS)
    if not isinstance(rounds, int) or rounds < MIN_BCRYPT_ROUNDS:
        yield Finding(ERROR, "BCRYPT_LOG_ROUNDS", f"bcrypt cost {rounds!r} is too cheap to "
                      f"slow down guessing; set it to at least {MIN_BCRYPT_ROUNDS}.")


def _breached_passwords(config: Mapping[str, Any]) -> Iterator[Finding]:
    mode = config.get("PASSWORD_BREACH_CHECK", "off")
    if mode == "off" and config.get("ENV_NAME") == "production":
        yield Finding(WARNING, "PASSWORD_BREACH_CHECK", "new passwords are not checked against "
                      "known breaches; set it to \"hibp\" (the Pwned Passwords range API sees "
                      "only 5 hex characters of each SHA-1) if the server can reach it.")
    elif mode not in ("off", "hibp"):
        yield Finding(ERROR, "PASSWORD_BREACH_CHECK", f"{mode!r} is not \"hibp\" or \"off\", "
                      "so no new password is checked against known breaches; set it to \"hibp\".")


def _rate_limits(config: Mapping[str, Any]) -> Iterator[Finding]:
    if not config.get("RATELIMIT_ENABLED", True):
        yield Finding(ERROR, "RATELIMIT_ENABLED", "login, register and refresh are not "
                      "rate-limited; set AUTHAPP_RATELIMIT_ENABLED=true.")
        return
    storage = str(config.get("RATELIMIT_STORAGE_URI", "memory://"))
    if storage.startswith("memory://"):
        yield Finding(ERROR, "RATELIMIT_STORAGE_URI", "memory:// counts per worker process and "
                      "forgets on restart, so limits multiply with workers and instances; "
                      "point it at Redis (redis://host:6379/0).")


def _database(config: Mapping[str, Any]) -> Iterator[Finding]:
    uri = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if not uri or uri.startswith("sqlite"):
        yield Finding(ERROR, "SQLALCHEMY_DATABASE_URI", "SQLite is one file on one machine, "
                      "so instances cannot share sessions and revocations; set DATABASE_URL "
                      "to PostgreSQL.")


def _mail(config: Mapping[str, Any]) -> Iterator[Finding]:
    public_url = str(config.get("PUBLIC_URL") or "")
    if not public_url:
        yield Finding(ERROR, "PUBLIC_URL", "mailed links (verification, password reset) need "
                      "the service's own address; set AUTHAPP_PUBLIC_URL=https://your.host.")
    elif not public_url.startswith("https://"):
        yield Finding(ERROR, "PUBLIC_URL", f"{public_url!r} is not an https:// address; "
                      "reset links would travel in the clear.")
    if config.get("MAIL_BACKEND", "smtp") == "file":
        yield Finding(ERROR, "MAIL_BACKEND", "mail is written to files, not sent: nobody gets "
                      "a verification or reset link; set AUTHAPP_MAIL_BACKEND=smtp and the "
                      "MAIL_SERVER settings.")


def _proxies(config: Mapping[str, Any]) -> Iterator[Finding]:
    if not config.get("TRUSTED_PROXY_COUNT", 0):
        yield Finding(WARNING, "TRUSTED_PROXY_COUNT", "no proxy is trusted; behind a load "
                      "balancer or reverse proxy set it to the number of hops in front of the "
                      "app, or rate limits and audit logs see the proxy's address.")


def _seconds(value: Any) -> float | None:
    """A duration setting in seconds; None for false or anything that is not a duration."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


CHECKS: tuple[Check, ...] = (_environment, _secrets, _mfa_encryption_key, _cookies, _csrf,
                             _tokens, _passwords, _breached_passwords, _rate_limits, _database,
                             _mail, _proxies)
