"""Password policy and hashing: the one place these rules live."""

from flask import current_app
from zxcvbn import zxcvbn

from authapp.accounts.breach import is_breached
from authapp.core.extensions import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5: refuses) anything longer
MIN_STRENGTH = 2  # zxcvbn score 0-4; below 2 means common or easily guessed
DUMMY_HASH_KEY = "authapp.dummy_password_hash"
BREACHED = "This password has appeared in a data breach; choose another."


def password_problems(password: str, username: str) -> list[str]:
    """Human-readable reasons a new ``password`` is not acceptable for ``username``.

    Every new password passes through here (register, change, reset). Only one that
    passes the local rules is looked up in known breaches, when that check is on.
    """
    if len(password) < MIN_LENGTH:
        return [f"Use at least {MIN_LENGTH} characters."]
    if len(password.encode("utf-8")) > MAX_BYTES:
        return [f"Use at most {MAX_BYTES} bytes (about {MAX_BYTES} plain letters; "
                "accented letters and emoji count as 2-4). Longer passwords would be cut short."]
    if username and password.casefold() == username.casefold():
        return ["The password must not be the same as the username."]
    verdict = zxcvbn(password, user_inputs=[username] if username else [])
    if verdict["score"] < MIN_STRENGTH:
        reason = verdict["feedback"]["warning"] or "This password is too easy to guess."
        return [f"{reason.rstrip('.')}. Choose a longer or less common password."]
    if is_breached(password):
        return [BREACHED]
    return []


def hash_password(password: str) -> str:
    """A bcrypt hash at the configured cost."""
    rounds = current_app.config["BCRYPT_LOG_ROUNDS"]
    return bcrypt.generate_password_hash(password, rounds).decode("ascii")


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password in constant work whether or not the account exists.

    With no hash (unknown user) a dummy hash of the same cost is checked, so
    both failures take the same time.  Input over bcrypt's limit can never
    match (no stored password is that long) but is still hashed once.
    """
    candidate = password_hash or _dummy_hash()
    encoded = password.encode("utf-8")
    matches = bcrypt.check_password_hash(candidate, encoded[:MAX_BYTES])
    return matches and password_hash is not None and len(encoded) <= MAX_BYTES


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with a lower cost than configured now."""
    try:
        cost = int(password_hash.split("$")[2])
    except (IndexError, ValueError):
        return True
    return cost < current_app.config["BCRYPT_LOG_ROUNDS"]


def _dummy_hash() -> str:
    """Made once per process, at first use, at the configured cost."""
    by_cost: dict[int, str] = current_app.extensions.setdefault(DUMMY_HASH_KEY, {})
    rounds = current_app.config["BCRYPT_LOG_ROUNDS"]
    if rounds not in by_cost:
        by_cost[rounds] = hash_password("authapp-dummy-password")
    return by_cost[rounds]
