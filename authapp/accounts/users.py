"""Accounts: register, authenticate, change password, disable. Request-free services."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError

from authapp.accounts import audit, recovery, sessions
from authapp.accounts.addresses import Address, looks_like_address, parse_address
from authapp.accounts.passwords import (
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from authapp.accounts.roles import parse_names, role_names_of
from authapp.accounts.usernames import (
    MAX_LENGTH,
    new_username_problems,
    normalize,
    username_key,
    username_problems,
    username_skeleton,
)
from authapp.core.clock import utcnow
from authapp.core.errors import InvalidCredentials, UsernameTaken, ValidationFailed
from authapp.core.extensions import db
from authapp.db import direct
from authapp.db.models import User
from authapp.db.transaction import flow
from authapp.http.client import Client

USER_BY_KEY = select(User).where(User.username_key == bindparam("key"))
# The account's roles come along for the session's token, saving the sign-in a query.
SIGN_IN_COLUMNS = (User.id, User.username, User.created_at, User.password_hash,
                   User.disabled_at, User.email, User.email_verified_at,
                   role_names_of(User.id).label("roles"))
SIGN_IN_BY_KEY = direct.hot_statement("sign_in_by_key", select(*SIGN_IN_COLUMNS).where(
    User.username_key == bindparam("key")))
SIGN_IN_BY_EMAIL = direct.hot_statement("sign_in_by_email", select(*SIGN_IN_COLUMNS).where(
    User.email_key == bindparam("key"), User.email_verified_at.is_not(None)))
LOOK_ALIKE = select(User.id).where(User.username_skeleton == bindparam("skeleton")).limit(1)


@dataclass(frozen=True)
class Account:
    """The account a sign-in proved: what its response and its session need."""

    id: int
    username: str
    created_at: datetime
    email: str | None = None
    email_verified: bool = False
    roles: tuple[str, ...] | None = None  # None: not read with the account

    @classmethod
    def of(cls, user: User) -> "Account":
        """The account of a loaded user row (its roles left to whoever needs them)."""
        return cls(user.id, user.username, user.created_at, user.email,
                   user.email_verified_at is not None)


def get_user(user_id: int) -> User:
    """The user with this id (the caller has just authenticated it)."""
    return db.session.get_one(User, user_id)


def _lookup_key(username: str) -> str | None:
    """The uniqueness key to look ``username`` up by, or None if no account can have it."""
    if username_problems(normalize(username)):
        return None  # (and NUL would upset PostgreSQL)
    return username_key(username)


def _sign_in_row(name: str) -> tuple | None:
    """The sign-in columns of the account a username or verified address names."""
    if looks_like_address(name):
        address = parse_address(name)
        return None if isinstance(address, str) else direct.fetch_one(SIGN_IN_BY_EMAIL,
                                                                       key=address.key)
    key = _lookup_key(name)
    return None if key is None else direct.fetch_one(SIGN_IN_BY_KEY, key=key)


def find_by_username(username: str) -> User | None:
    """Look a user up by name, without regard to case or Unicode form."""
    key = _lookup_key(username)
    return None if key is None else db.session.scalar(USER_BY_KEY, {"key": key})


@flow
def register(username: str, password: str, client: Client, email: str | None = None) -> User:
    """Create an account, or raise ValidationFailed / UsernameTaken.

    With an address, the account gets a verification link (recovery.give_address).
    """
    display = normalize(username)
    errors = {}
    if problems := new_username_problems(display):
        errors["username"] = problems
    if problems := password_problems(password, display):
        errors["password"] = problems
    address = None
    if email:
        address = parse_address(email)
        if isinstance(address, str):
            errors["email"] = [address]
    elif current_app.config["EMAIL_REQUIRED"]:
        errors["email"] = ["An email address is required."]
    if errors:
        raise ValidationFailed(errors)
    if find_by_username(display) is not None:
        raise UsernameTaken("That username is already taken. Try another one.")
    skeleton = username_skeleton(display)
    if db.session.scalar(LOOK_ALIKE, {"skeleton": skeleton}) is not None:
        raise UsernameTaken("That username looks too much like an existing one (letters such "
                            "as l, I and 1, or Latin a and Cyrillic а, look alike). "
                            "Try another one.")
    user = User(username=display, username_key=username_key(display),
                username_skeleton=skeleton, password_hash=hash_password(password))
    db.session.add(user)
    try:
        db.session.flush()
        audit.record("register", client=client, user_id=user.id)
    except IntegrityError as exc:  # a concurrent registration won the unique index
        db.session.rollback()
        raise UsernameTaken("That username is already taken.") from exc
    if isinstance(address, Address):
        recovery.give_address(user, address, client)
    return user


@flow
def authenticate(username: str, password: str, client: Client) -> Account:
    """The account these credentials belong to, or InvalidCredentials.

    Unknown users, wrong passwords and disabled accounts fail identically and
    in the same time. A hash made at a lower cost than configured is upgraded.
    The lookup runs on the direct connection (direct.py), so no transaction is open during bcrypt.
    """
    row = _sign_in_row(username)
    user_id, display, created_at, password_hash, disabled_at, email, verified_at, roles = (
        row or (None,) * 8)
    valid = verify_password(password, password_hash)
    if row is None or not valid or disabled_at is not None:
        reason = ("unknown_user" if row is None else "wrong_password" if not valid
                  else "disabled")
        audit.record("login_failed", client=client, user_id=user_id,
                     username=normalize(username)[:MAX_LENGTH * 2], reason=reason)
        raise InvalidCredentials("The username or password is not correct.")
    if needs_rehash(password_hash):
        db.session.execute(update(User).where(User.id == user_id)
                           .values(password_hash=hash_password(password)))
    return Account(user_id, display, created_at, email, verified_at is not None,
                   parse_names(roles))


@flow
def change_password(user: User, current_password: str, new_password: str,
                    keep_session: str | None, client: Client) -> int:
    """Set a new password and sign out every other session; returns how many."""
    errors = {}
    if not verify_password(current_password, user.password_hash):
        errors["current_password"] = ["The current password is not correct."]
    if problems := password_problems(new_password, user.username):
        errors["new_password"] = problems
    elif new_password == current_password:
        errors["new_password"] = ["Choose a password different from the current one."]
    if errors:
        raise ValidationFailed(errors)
    signed_out = recovery.set_new_password(user, new_password, keep_session)
    audit.record("password_changed", client=client, user_id=user.id, session_id=keep_session,
                 other_sessions_revoked=signed_out)
    return signed_out


@flow
def set_disabled(user: User, disabled: bool, client: Client, **details: int) -> int:
    """Disable (revoking every session at once) or re-enable an account; ``details`` go
    into the event (an acting admin's id)."""
    if disabled:
        user.disabled_at = user.disabled_at or utcnow()
        revoked = sessions.revoke_user_sessions(user.id, "user_disabled")
        audit.record("user_disabled", client=client, user_id=user.id, sessions_revoked=revoked,
                     **details)
    else:
        user.disabled_at = None
        revoked = 0
        audit.record("user_enabled", client=client, user_id=user.id, **details)
    return revoked
