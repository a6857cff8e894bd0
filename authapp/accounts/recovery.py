"""Verified addresses, password reset and address change (SPEC §8): the flows.

Every flow here writes its mail to the outbox in its own transaction, so a
mail exists exactly when the change it tells of happened. The forgot-password
request only queues a job (mail/outbox.py): the worker finds the account and
mails it, so the request itself does the same work, in the same time, for
every address.
"""

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from authapp.accounts import audit, links, sessions
from authapp.accounts.addresses import Address, address_key, parse_address
from authapp.accounts.passwords import hash_password, password_problems
from authapp.core.clock import utcnow
from authapp.core.errors import LinkInvalid, ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mail.outbox import public_url, queue_mail, queue_password_forgot

ADDRESS_TAKEN = ("That address now belongs to another account; "
                 "use another address or sign in to that account.")


def verified_owner(key: str) -> User | None:
    """The account whose verified address this is, if any."""
    return db.session.scalar(select(User).where(User.email_key == key,
                                                User.email_verified_at.is_not(None)))


def _minutes(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if hours and not minutes:
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{seconds // 60} minutes"


def _mail_verification(user: User) -> None:
    lifetime = current_app.config["EMAIL_VERIFY_EXPIRES"]
    token = links.issue(user.id, links.VERIFY_EMAIL, user.email, lifetime)
    queue_mail(user.email, "verify_email", username=user.username,
               link=public_url(f"/verify-email/{token}"), expires=_minutes(lifetime))


def address_problems(raw: str) -> Address:
    """The parsed address, or ValidationFailed on the ``email`` field."""
    parsed = parse_address(raw)
    if isinstance(parsed, str):
        raise ValidationFailed({"email": [parsed]})
    return parsed


def give_address(user: User, address: Address, client: Client) -> None:
    """A new account's address: a verification link, or, when another account has already
    verified it, a warning to that account's owner (the new account learns nothing)."""
    user.email, user.email_key = address.display, address.key
    db.session.flush()
    owner = verified_owner(address.key)
    if owner is not None and owner.id != user.id:
        queue_mail(owner.email, "signup_attempt", username=owner.username,
                   reset_link=public_url("/forgot-password"))
        audit.record("signup_address_in_use", client=client, user_id=owner.id)
        return
    _mail_verification(user)
    audit.record("email_verification_sent", client=client, user_id=user.id)


@flow
def resend_verification(user: User, client: Client) -> None:
    """Mail a new verification link, at most once per ``EMAIL_VERIFY_RESEND_INTERVAL``."""
    if user.email is None:
        raise ValidationFailed({"email": ["This account has no email address to verify."]})
    if user.email_verified_at is not None:
        return
    ago = links.last_issued_seconds_ago(user.id, links.VERIFY_EMAIL)
    if ago is not None and ago < current_app.config["EMAIL_VERIFY_RESEND_INTERVAL"]:
        return
    _mail_verification(user)
    audit.record("email_verification_sent", client=client, user_id=user.id)


@flow
def verify_address(token: str, client: Client) -> User:
    """Mark the address a verification link was sent to as verified."""
    use = links.consume(token, links.VERIFY_EMAIL)
    user = db.session.get_one(User, use.user_id)
    if user.email_key != address_key(use.email):
        raise LinkInvalid("This link was for an address the account no longer has.")
    if user.email_verified_at is None:
        _mark_verified(user, user.email)
    audit.record("email_verified", client=client, user_id=user.id)
    return user


def _mark_verified(user: User, address: str) -> None:
    """Make ``address`` the account's verified address, or LinkInvalid if another account
    verified it first (the partial unique index decides, also under a race)."""
    owner = verified_owner(address_key(address))
    if owner is not None and owner.id != user.id:
        raise LinkInvalid(ADDRESS_TAKEN)
    user.email, user.email_key, user.email_verified_at = address, address_key(address), utcnow()
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise LinkInvalid(ADDRESS_TAKEN) from exc


@flow
def request_password_reset(raw_email: str) -> None:
    """Queue the forgot-password job for an address (the same work for every address)."""
    queue_password_forgot(address_problems(raw_email).key)


def password_forgot_job(key: str) -> None:
    """Run by the mail worker: a reset link to a verified address, a verification link to an
    unverified one, nothing for an unknown address or a disabled account."""
    user = verified_owner(key) or db.session.scalar(
        select(User).where(User.email_key == key, User.email_verified_at.is_(None))
        .order_by(User.id.desc()).limit(1))
    if user is None or user.disabled_at is not None:
        return
    if user.email_verified_at is None:
        _mail_verification(user)
        audit.record("email_verification_sent", user_id=user.id, reason="password_forgot")
        return
    links.retire(user.id, links.RESET_PASSWORD)  # only the newest reset link works
    lifetime = current_app.config["PASSWORD_RESET_EXPIRES"]
    token = links.issue(user.id, links.RESET_PASSWORD, user.email, lifetime)
    queue_mail(user.email, "reset_password", username=user.username,
               link=public_url(f"/reset-password/{token}"), expires=_minutes(lifetime))
    audit.record("password_reset_requested", user_id=user.id)


def reset_link_user(token: str) -> User | None:
    """The account a usable reset link is for (without using it up)."""
    use = links.peek(token, links.RESET_PASSWORD)
    return None if use is None else db.session.get(User, use.user_id)


@flow
def reset_password(token: str, new_password: str, client: Client) -> None:
    """Set a new password through a reset link and sign out every session of the account."""
    user = reset_link_user(token)
    if user is None:
        raise LinkInvalid()
    if problems := password_problems(new_password, user.username):
        raise ValidationFailed({"new_password": problems})  # the link stays usable
    links.consume(token, links.RESET_PASSWORD)
    revoked = set_new_password(user, new_password)
    audit.record("password_reset", client=client, user_id=user.id, sessions_revoked=revoked)


def set_new_password(user: User, new_password: str, keep_session: str | None = None) -> int:
    """Store a new password: every other session ends, reset links die, the owner is told."""
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    reason = "password_changed" if keep_session else "password_reset"
    revoked = sessions.revoke_user_sessions(user.id, reason, keep=keep_session)
    links.retire(user.id, links.RESET_PASSWORD)
    if user.email_verified_at is not None:
        queue_mail(user.email, "password_changed", username=user.username,
                   reset_link=public_url("/forgot-password"))
    return revoked


@flow
def request_address_change(user: User, raw_email: str, client: Client) -> None:
    """Mail a confirmation link to the new address; nothing changes until it is used."""
    address = address_problems(raw_email)
    if user.email_verified_at is not None and user.email_key == address.key:
        raise ValidationFailed({"email": ["This is already your address."]})
    links.retire(user.id, links.CHANGE_EMAIL)
    lifetime = current_app.config["EMAIL_CHANGE_EXPIRES"]
    token = links.issue(user.id, links.CHANGE_EMAIL, address.display, lifetime)
    queue_mail(address.display, "confirm_email_change", username=user.username,
               link=public_url(f"/confirm-email/{token}"), expires=_minutes(lifetime))
    audit.record("email_change_requested", client=client, user_id=user.id)


@flow
def confirm_address_change(token: str, client: Client) -> User:
    """Switch the account to the confirmed new address and tell the old one."""
    use = links.consume(token, links.CHANGE_EMAIL)
    user = db.session.get_one(User, use.user_id)
    old = user.email if user.email_verified_at is not None else None
    _mark_verified(user, use.email)
    links.retire(user.id, links.CHANGE_EMAIL)
    links.retire(user.id, links.VERIFY_EMAIL)
    if old is not None and address_key(old) != user.email_key:
        queue_mail(old, "email_changed", username=user.username, new_address=user.email,
                   reset_link=public_url("/forgot-password"))
    audit.record("email_changed", client=client, user_id=user.id)
    return user
