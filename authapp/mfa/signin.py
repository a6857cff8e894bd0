"""The sign-in's second step (SPEC §10): ask a 2FA account for its factor, then check it.

Pages and API share both halves: ``require_second_factor`` after a right
password answers ``mfa_required`` with an ``mfa_token`` (no session yet), and
``finish`` turns that token plus a TOTP code, a recovery code or a passkey
assertion into the account to start a session for, with the ``amr`` the session records.
"""

from dataclasses import dataclass
from typing import Any

from authapp.accounts import audit
from authapp.accounts.users import Account
from authapp.core.errors import MfaInvalid, MfaRequired
from authapp.core.extensions import db
from authapp.db.models import User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mfa import challenges, factors, passkeys, recovery_codes, totp
from authapp.mfa.notices import notify
from authapp.mfa.passkey_challenges import SECOND_FACTOR

TOTP_AMR = ("pwd", "otp", "mfa")
PASSKEY_AMR = ("pwd", *passkeys.AMR)
EXPIRED = "This sign-in has expired or is finished. Sign in again with your password."


@dataclass(frozen=True)
class Verified:
    """A sign-in that showed both factors: whom to start a session for, and how."""

    account: Account
    amr: tuple[str, ...]


@flow
def require_second_factor(account: Account, client: Client) -> None:
    """Raise MfaRequired (with a new ``mfa_token``) if the account signs in with 2FA."""
    if not factors.enabled(account.id):
        return
    token = challenges.issue(account.id)
    audit.record("mfa_requested", client=client, user_id=account.id)
    raise MfaRequired(token, factors.mfa_methods(factors.summary(account.id)))


@flow
def begin_passkey(mfa_token: str) -> passkeys.Ceremony:
    """Request options for a passkey as the second factor of a pending sign-in."""
    user_id = challenges.pending_account(mfa_token)
    rows = [] if user_id is None else passkeys.of_account(user_id)
    if not rows:
        raise MfaInvalid(EXPIRED if user_id is None else "This account has no passkey.")
    return passkeys.request(SECOND_FACTOR, user_id, rows, bound_to=mfa_token)


WRONG = {"totp": "The code is not correct.",
         "recovery_code": "That recovery code is not correct or was already used.",
         "passkey": "This passkey could not confirm the sign-in."}


@flow
def finish(mfa_token: str, client: Client, *, code: str | None = None,
           recovery_code: str | None = None, challenge_id: str | None = None,
           credential: dict[str, Any] | None = None) -> Verified:
    """Check the second factor of a pending sign-in, or raise MfaInvalid."""
    user_id = challenges.attempt(mfa_token)
    user = None if user_id is None else db.session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise MfaInvalid(EXPIRED)
    if credential is not None:
        method = "passkey"
        right = passkeys.check(challenge_id, credential, SECOND_FACTOR, user_id=user.id,
                               client=client, bound_to=mfa_token) is not None
    elif code is not None:
        method, right = "totp", totp.verify(user.id, code)
    else:
        method, right = "recovery_code", recovery_codes.use(user.id, recovery_code or "")
    if not right:
        audit.record("mfa_failed", client=client, user_id=user.id, action="sign_in",
                     method=method)
        raise MfaInvalid(WRONG[method])
    if not challenges.finish(mfa_token):
        raise MfaInvalid(EXPIRED)
    if method == "recovery_code":
        remaining = factors.summary(user.id).recovery_codes_remaining
        notify(user, "recovery_code_used", remaining=remaining)
        audit.record("recovery_code_used", client=client, user_id=user.id, remaining=remaining)
    return Verified(Account.of(user), PASSKEY_AMR if method == "passkey" else TOTP_AMR)
