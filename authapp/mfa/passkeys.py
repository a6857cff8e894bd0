"""An account's passkeys (SPEC §11): add, list, rename, remove, and sign in with one.

Each ceremony starts with options carrying a server-side challenge (passkey_challenges)
and ends with the client's credential JSON, checked in ceremonies.py. A passkey alone does
not turn on the two-step password login; it is a second factor only where TOTP is on.
"""

import secrets
import unicodedata
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from webauthn import base64url_to_bytes

from authapp.accounts import audit
from authapp.accounts.users import Account
from authapp.core.errors import InvalidCredentials, ResourceNotFound, ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import MAX_USER_ID, PASSKEY_NAME_MAX, Passkey, User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mfa import ceremonies, passkey_challenges
from authapp.mfa.passkey_challenges import REAUTHENTICATE, REGISTER, SIGN_IN

AMR = ("hwk", "user", "mfa")  # every passkey use verifies the user (RFC 8176)
USER_HANDLE_BYTES = 32
CHALLENGE_GONE = "This passkey request has expired or was already used. Start again."
NOT_ACCEPTED = "This passkey could not sign you in."


@dataclass(frozen=True)
class Ceremony:
    """What a client needs to run a ceremony: the WebAuthn options, and the id to send back."""

    options: dict[str, Any]
    challenge_id: str


def of_account(user_id: int) -> list[Passkey]:
    """The account's passkeys, oldest first."""
    return list(db.session.scalars(select(Passkey).where(Passkey.user_id == user_id)
                                   .order_by(Passkey.created_at, Passkey.id)))


def _own(user_id: int, passkey_id: int) -> Passkey:
    row = None if passkey_id > MAX_USER_ID else db.session.get(Passkey, passkey_id)  # 32-bit ids
    if row is None or row.user_id != user_id:
        raise ResourceNotFound("No such passkey.")
    return row


def clean_name(name: str | None, default: str) -> str:
    """A passkey's name as stored: trimmed, single-spaced, no control characters."""
    text = " ".join((name or "").split()) or default
    if len(text) > PASSKEY_NAME_MAX or any(
            unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co"} for ch in text):
        raise ValidationFailed({"name": [f"Use at most {PASSKEY_NAME_MAX} printable "
                                         "characters."]})
    return text


def _user_handle(rows: list[Passkey]) -> str:
    """The account's WebAuthn user id: random, never the account id, kept across its keys."""
    return rows[0].user_handle if rows else ceremonies.encode_id(
        secrets.token_bytes(USER_HANDLE_BYTES))


@flow
def begin_registration(user: User) -> Ceremony:
    """Creation options for a new passkey of ``user`` (its keys in ``excludeCredentials``)."""
    rows = of_account(user.id)
    handle = _user_handle(rows)
    issued = passkey_challenges.issue(REGISTER, user_id=user.id, user_handle=handle)
    return Ceremony(ceremonies.creation_options(issued.challenge, base64url_to_bytes(handle),
                                                user.username, rows), issued.challenge_id)


@flow
def register(user: User, challenge_id: str, credential: dict[str, Any], name: str | None,
             session_id: str, client: Client) -> Passkey:
    """Store the new passkey of a registration ceremony, or raise ValidationFailed."""
    name = clean_name(name, f"Passkey {len(of_account(user.id)) + 1}")
    consumed = passkey_challenges.consume(challenge_id, REGISTER, user_id=user.id)
    if consumed is None:
        raise ValidationFailed({"challenge_id": [CHALLENGE_GONE]})
    verified = ceremonies.verify_attestation(credential, consumed.challenge)
    if verified is None:
        audit.record("passkey_failed", client=client, user_id=user.id, session_id=session_id,
                     action="register", reason="invalid_attestation")
        raise ValidationFailed({"credential": ["This passkey could not be verified."]})
    row = Passkey(user_id=user.id, credential_id=ceremonies.encode_id(verified.credential_id),
                  user_handle=consumed.user_handle, public_key=verified.credential_public_key,
                  sign_count=verified.sign_count, transports=ceremonies.transports_of(credential),
                  backup_eligible=verified.credential_device_type == "multi_device",
                  backed_up=verified.credential_backed_up, aaguid=verified.aaguid, name=name)
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        raise ValidationFailed({"credential": ["This passkey is already registered."]}) from exc
    audit.record("passkey_registered", client=client, user_id=user.id, session_id=session_id,
                 passkey_id=row.id, aaguid=row.aaguid)
    return row


@flow
def rename(user_id: int, passkey_id: int, name: str, session_id: str, client: Client) -> Passkey:
    """Give one of the account's passkeys a new name."""
    row = _own(user_id, passkey_id)
    row.name = clean_name(name, row.name)
    db.session.flush()
    audit.record("passkey_renamed", client=client, user_id=user_id, session_id=session_id,
                 passkey_id=row.id)
    return row


@flow
def remove(user_id: int, passkey_id: int, session_id: str, client: Client) -> None:
    """Delete one of the account's passkeys; another account's id is not found."""
    row = _own(user_id, passkey_id)
    db.session.execute(delete(Passkey).where(Passkey.id == row.id))
    audit.record("passkey_removed", client=client, user_id=user_id, session_id=session_id,
                 passkey_id=passkey_id)


def request(purpose: str, user_id: int | None, allowed: list[Passkey],
            bound_to: str | None = None) -> Ceremony:
    """Request options for an assertion of ``purpose`` (adds the challenge)."""
    issued = passkey_challenges.issue(purpose, user_id=user_id, bound_to=bound_to)
    return Ceremony(ceremonies.request_options(issued.challenge, allowed), issued.challenge_id)


def check(challenge_id: object, credential: dict[str, Any], purpose: str, *,
          user_id: int | None, client: Client, bound_to: str | None = None) -> Passkey | None:
    """Use up the challenge and verify the assertion made over it; None if refused."""
    consumed = passkey_challenges.consume(challenge_id, purpose, user_id=user_id,
                                          bound_to=bound_to)
    if consumed is None:
        audit.record("passkey_failed", client=client, user_id=user_id, action=purpose,
                     reason="challenge_gone")
        return None
    return ceremonies.verify_assertion(credential, consumed.challenge, user_id=user_id,
                                       client=client, action=purpose)


@flow
def begin_sign_in() -> Ceremony:
    """Options for a sign-in without a username: any of this site's passkeys may answer."""
    return request(SIGN_IN, None, [])


@flow
def sign_in(challenge_id: str, credential: dict[str, Any], client: Client) -> Account:
    """The account whose passkey answered the sign-in challenge, or InvalidCredentials."""
    row = check(challenge_id, credential, SIGN_IN, user_id=None, client=client)
    user = None if row is None else db.session.get(User, row.user_id)
    if user is None or user.disabled_at is not None:
        raise InvalidCredentials(NOT_ACCEPTED)
    return Account.of(user)


@flow
def begin_reauthentication(user_id: int) -> Ceremony:
    """Options for proving a session again with one of the account's passkeys."""
    rows = of_account(user_id)
    if not rows:
        raise ValidationFailed({"passkey": ["This account has no passkey."]})
    return request(REAUTHENTICATE, user_id, rows)
