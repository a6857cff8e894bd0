"""Tables: users, sessions (one refresh-token family each), revoked tokens, auth events,
mailed links, the mail outbox, signing keys, roles and second factors."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from authapp.accounts import usernames
from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.columns import UTCDateTime

USER_AGENT_MAX = 512
IP_MAX = 45  # the longest textual IPv6 address
MAX_USER_ID = 2**31 - 1  # users.id is a 32-bit integer on every backend
AMR_MAX = 64
EMAIL_MAX = 254  # RFC 5321's limit on a forward path


def new_id() -> str:
    """A random, unguessable identifier for sessions."""
    return uuid.uuid4().hex


def _username_skeleton(context: Any) -> str:
    return usernames.username_skeleton(context.get_current_parameters()["username"])


class User(db.Model):
    """An account. ``username_key`` is the NFKC case-folded form that must be unique."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    username_key: Mapped[str] = mapped_column(String(128), unique=True)
    # UTS 39 look-alike form: a new name may not share an existing one's (not unique: older
    # names may). Derived from ``username`` when a writer does not give it.
    username_skeleton: Mapped[str] = mapped_column(String(256), index=True,
                                                   default=_username_skeleton)
    password_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One address per account (SPEC §8); only verified addresses are unique, by their
    # case-folded ``email_key`` (a partial unique index, see __table_args__).
    email: Mapped[str | None] = mapped_column(String(EMAIL_MAX))
    email_key: Mapped[str | None] = mapped_column(String(EMAIL_MAX), index=True)
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("uq_users_verified_email_key", "email_key", unique=True,
              sqlite_where=text("email_verified_at IS NOT NULL"),
              postgresql_where=text("email_verified_at IS NOT NULL")),
    )


class Session(db.Model):
    """One sign-in on one device: the refresh-token family and its rotation state."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    user_agent: Mapped[str] = mapped_column(String(USER_AGENT_MAX), default="")
    ip: Mapped[str] = mapped_column(String(IP_MAX), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    refresh_jti: Mapped[str] = mapped_column(String(36))
    previous_jti: Mapped[str | None] = mapped_column(String(36))
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When and how this session last proved who it is (SPEC §9): carried into every token.
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    amr: Mapped[str] = mapped_column(String(AMR_MAX), default="pwd")  # space-separated


class RevokedToken(db.Model):
    """A token id that must never be accepted again, kept until the token expires."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(36), primary_key=True)
    token_type: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(32))


class AuthEvent(db.Model):
    """One security event: who, what, from where. Never a password or a whole token."""

    __tablename__ = "auth_events"
    __table_args__ = (Index("ix_auth_events_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    event_type: Mapped[str] = mapped_column(String(32))
    # SET NULL: a deleted account's events stay, scrubbed of what identified it (SPEC §13).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    session_id: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str] = mapped_column(String(IP_MAX), default="")
    user_agent: Mapped[str] = mapped_column(String(USER_AGENT_MAX), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class LinkToken(db.Model):
    """A mailed link's token: only its SHA-256 is stored, and it is used at most once."""

    __tablename__ = "link_tokens"
    __table_args__ = (Index("ix_link_tokens_user_id_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))  # verify_email, reset_password, change_email
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX))  # the address the link was sent to
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(db.Model):
    """A mail waiting to be delivered, written in the transaction of the change it tells of.

    ``kind`` is ``message`` for a rendered mail; ``password_forgot`` is a job the worker
    turns into mail, so a forgot-password request does the same work for every address.
    """

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_status_next_attempt_at", "status",
                            "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                    primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(16), default="message")
    recipient: Mapped[str] = mapped_column(String(EMAIL_MAX))
    subject: Mapped[str] = mapped_column(String(200))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(500))


class SigningKey(db.Model):
    """An asymmetric token-signing key (SPEC §12): standby → active → retired, or revoked.

    ``public_jwk`` is what the JWKS publishes; ``private_key`` is sealed at rest
    (tokens/key_material.py). At most one key per algorithm is active and one standby.
    """

    __tablename__ = "signing_keys"
    __table_args__ = (
        Index("uq_signing_keys_algorithm_state", "algorithm", "state", unique=True,
              sqlite_where=text("state IN ('active', 'standby')"),
              postgresql_where=text("state IN ('active', 'standby')")),
    )

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))  # standby, active, retired, revoked
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


ROLE_NAME_MAX = 32


class Role(db.Model):
    """A named permission holders share (SPEC §13); ``admin`` is built in."""

    __tablename__ = "roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(ROLE_NAME_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRole(db.Model):
    """A role held by an account; the primary key serves lookups by user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Authenticator(db.Model):
    """A second factor of an account (SPEC §10), one table for every kind.

    ``type`` is ``totp`` (at most one per account; pending until ``confirmed_at``) or
    ``recovery_code`` (one row per code; used once ``last_used_at`` is set). ``data``
    holds what the kind needs: a TOTP's sealed secret, a code's selector and hash.
    ``last_used_step`` is the TOTP replay guard: a step is accepted only above it.
    """

    __tablename__ = "authenticators"
    __table_args__ = (
        Index("ix_authenticators_user_id_type", "user_id", "type"),
        Index("uq_authenticators_one_totp", "user_id", unique=True,
              sqlite_where=text("type = 'totp'"), postgresql_where=text("type = 'totp'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)


class MfaChallenge(db.Model):
    """A sign-in waiting for its second factor: the ``mfa_token``'s SHA-256, used at most
    once, dead after ``attempts`` codes have been tried with it or past ``expires_at``."""

    __tablename__ = "mfa_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # codes tried with it
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


PASSKEY_NAME_MAX = 64
CREDENTIAL_ID_MAX = 1366  # 1,023 bytes (the WebAuthn limit) in base64url


class Passkey(db.Model):
    """A WebAuthn credential of an account (SPEC §11).

    ``credential_id`` and ``user_handle`` are base64url; the handle is random (never the
    account id) and an assertion's ``userHandle`` must be this row's. ``sign_count`` only
    moves forward (one conditional UPDATE), except that a counter staying at 0 is accepted.
    """

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    credential_id: Mapped[str] = mapped_column(String(CREDENTIAL_ID_MAX), unique=True)
    user_handle: Mapped[str] = mapped_column(String(88))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    backed_up: Mapped[bool] = mapped_column(Boolean, default=False)
    aaguid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(PASSKEY_NAME_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasskeyChallenge(db.Model):
    """A WebAuthn challenge (32 random bytes) waiting for its ceremony, used at most once.

    Clients name it by ``challenge_id`` (an opaque value; its SHA-256 is ``id_hash``). It is
    bound to a ``purpose``, to the account (none for a sign-in without a username) and, for
    a second factor, to the pending sign-in's ``mfa_token`` (its SHA-256 in ``bound_to``).
    A registration keeps the ``user_handle`` its options announced.
    """

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    bound_to: Mapped[str | None] = mapped_column(String(64))
    user_handle: Mapped[str | None] = mapped_column(String(88))
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
