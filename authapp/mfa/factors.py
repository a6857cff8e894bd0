"""Which second factors an account has: the one place that lists them.

The sign-in step's ``mfa_methods``, the re-authentication ``methods`` and the
account's 2FA summary are all computed here, from the ``authenticators``
rows (a handful per account), so a new kind of factor is added in one place.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, literal_column, select

from authapp.core.extensions import db
from authapp.db import direct
from authapp.db.models import Authenticator, Passkey

TOTP = "totp"
RECOVERY_CODE = "recovery_code"


@dataclass(frozen=True)
class Summary:
    """``GET /api/account/mfa``: what protects the account's sign-in."""

    totp: bool
    passkeys: int
    recovery_codes_remaining: int

    @property
    def enabled(self) -> bool:
        """True when a sign-in must show a second factor."""
        return self.totp


def _count(*where: Any) -> Any:
    return select(func.count()).where(*where).scalar_subquery()


_OWNER = bindparam("user_id")
# Built once: every password sign-in asks it, inside its transaction.
SUMMARY = select(
    _count(Authenticator.user_id == _OWNER, Authenticator.type == TOTP,
           Authenticator.confirmed_at.is_not(None)).label("totp"),
    _count(Passkey.user_id == _OWNER).label("passkeys"),
    _count(Authenticator.user_id == _OWNER, Authenticator.type == RECOVERY_CODE,
           Authenticator.last_used_at.is_(None)).label("recovery_codes"),
)


def summary(user_id: int) -> Summary:
    """The account's second factors, in one query."""
    row = db.session.execute(SUMMARY, {"user_id": user_id}).one()
    return Summary(totp=row.totp > 0, passkeys=row.passkeys,
                   recovery_codes_remaining=row.recovery_codes if row.totp else 0)


# Every password sign-in asks this: one precompiled read on the direct path (committed state).
SIGNS_IN_WITH_TOTP = direct.hot_statement("signs_in_with_totp", select(
    exists().where(Authenticator.user_id == bindparam("user_id"),
                   # SQL text, not a bound value: the direct path binds only named parameters.
                   Authenticator.type == literal_column(f"'{TOTP}'"),
                   Authenticator.confirmed_at.is_not(None))))


def enabled(user_id: int) -> bool:
    """True when the account signs in with a second factor (``Summary.enabled``)."""
    row = direct.fetch_one(SIGNS_IN_WITH_TOTP, user_id=str(user_id))  # parameters are text
    return bool(row and row[0])


def mfa_methods(state: Summary) -> list[str]:
    """What the sign-in step accepts as the second factor."""
    methods = []
    if state.totp:
        methods.append("totp")
    if state.recovery_codes_remaining:
        methods.append("recovery_code")
    if state.passkeys:
        methods.append("passkey")
    return methods


def reauthentication_methods(user_id: int) -> list[str]:
    """How the account can prove a session again (SPEC §9)."""
    state = summary(user_id)
    return ["password", *(["totp"] if state.totp else []),
            *(["passkey"] if state.passkeys else [])]


def remove(user_id: int, *types: str) -> None:
    """Delete the account's factors of ``types`` (turning 2FA off, a new set of codes)."""
    db.session.execute(delete(Authenticator).where(
        Authenticator.user_id == user_id, Authenticator.type.in_(types))
        .execution_options(synchronize_session=False))
