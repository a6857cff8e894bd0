"""The sign-in's second step (SPEC §10): ask a 2FA account for its factor, then check it.

Pages and API share both halves: ``require_second_factor`` after a right
password answers ``mfa_required`` with an ``mfa_token`` (no session yet), and
``finish`` turns that token plus a TOTP or recovery code into the account
to start a session for, with the ``amr`` the session records.
"""

from dataclasses import dataclass

from authapp.accounts import audit
from authapp.accounts.users import Account
from authapp.core.errors import MfaInvalid, MfaRequired
from authapp.core.extensions import db
from authapp.db.models import User
from authapp.db.transaction import flow
from authapp.http.client import Client
from authapp.mfa import challenges, factors, recovery_codes, totp
from authapp.mfa.notices import notify

TOTP_AMR = ("pwd", "otp", "mfa")
EXPIRED = "This sign-in has expired or is finished. Sign in again with your password."


@dataclass(frozen=True)
class Verified:
    """A sign-in that showed both factors: whom to start a session for, and how."""

    account: Account
    amr: tuple[str, ...]


@flow
def require_second_factor(account: Account, client: Client) -> None:
    """Raise MfaRequired (with a new ``mfa_token``) if the account signs in with 2FA."""
    state = factors.summary(account.id)
    if not state.enabled:
        return
    token = challenges.issue(account.id)
    audit.record("mfa_requested", client=client, user_id=account.id)
    raise MfaRequired(token, factors.mfa_methods(state))


@flow
def finish(mfa_token: str, client: Client, *, code: str | None = None,
           recovery_code: str | None = None) -> Verified:
    """Check the second factor of a pending sign-in, or raise MfaInvalid."""
    user_id = challenges.attempt(mfa_token)
    user = None if user_id is None else db.session.get(User, user_id)
    if user is None or user.disabled_at is not None:
        raise MfaInvalid(EXPIRED)
    method = "totp" if code is not None else "recovery_code"
    if code is not None:
        right = totp.verify(user.id, code)
    else:
        right = recovery_codes.use(user.id, recovery_code or "")
    if not right:
        audit.record("mfa_failed", client=client, user_id=user.id, action="sign_in",
                     method=method)
        raise MfaInvalid("The code is not correct." if method == "totp"
                         else "That recovery code is not correct or was already used.")
    if not challenges.finish(mfa_token):
        raise MfaInvalid(EXPIRED)
    if method == "recovery_code":
        remaining = factors.summary(user.id).recovery_codes_remaining
        notify(user, "recovery_code_used", remaining=remaining)
        audit.record("recovery_code_used", client=client, user_id=user.id, remaining=remaining)
    account = Account(user.id, user.username, user.created_at, user.email,
                      user.email_verified_at is not None)
    return Verified(account, TOTP_AMR)
