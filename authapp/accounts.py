"""Accounts: register, authenticate, change password. Request-free services."""

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import sessions
from .clock import utcnow
from .errors import InvalidCredentials, UsernameTaken, ValidationFailed
from .extensions import db
from .models import User
from .passwords import hash_password, needs_rehash, password_problems, verify_password
from .usernames import normalize, username_key, username_problems


def get_user(user_id: int) -> User:
    """The user with this id (the caller has just authenticated it)."""
    return db.session.get_one(User, user_id)


def find_by_username(username: str) -> User | None:
    """Look a user up by name, without regard to case or Unicode form."""
    return db.session.scalar(select(User).where(User.username_key == username_key(username)))


def register(username: str, password: str) -> User:
    """Create an account, or raise ValidationFailed / UsernameTaken."""
    display = normalize(username)
    errors = {}
    if problems := username_problems(display):
        errors["username"] = problems
    if problems := password_problems(password, display):
        errors["password"] = problems
    if errors:
        raise ValidationFailed(errors)
    if find_by_username(display) is not None:
        raise UsernameTaken("That username is already taken.")
    user = User(username=display, username_key=username_key(display),
                password_hash=hash_password(password))
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError as exc:  # a concurrent registration won the unique index
        db.session.rollback()
        raise UsernameTaken("That username is already taken.") from exc
    return user


def authenticate(username: str, password: str) -> User:
    """The user these credentials belong to, or InvalidCredentials.

    Unknown users and wrong passwords fail identically and in the same time.
    A hash made at a lower cost than configured is upgraded on success.
    """
    user = find_by_username(username)
    valid = verify_password(password, user.password_hash if user else None)
    if user is None or not valid:
        raise InvalidCredentials("The username or password is not correct.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return user


def change_password(user: User, current_password: str, new_password: str,
                    keep_session: str | None) -> int:
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
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    db.session.commit()
    return sessions.revoke_user_sessions(user.id, "password_changed", keep=keep_session)
