"""The per-request revocation check: one indexed statement, one round trip.

It runs on the direct connection (see direct.py) and brings the user's row
and current role names along, so views need no second query and a role taken
away counts at the next request. The token's ``roles`` claim is only
informational: the roles here decide.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, select

from authapp.accounts.roles import parse_names, role_names_of
from authapp.db import direct
from authapp.db.models import RevokedToken, Session, User

REVOCATION_CHECK = direct.hot_statement("revocation_check", (
    select(
        Session.revoked_at.is_not(None).label("session_revoked"),
        exists().where(RevokedToken.jti == bindparam("jti")).label("token_revoked"),
        User.id,
        User.username,
        User.created_at,
        role_names_of(User.id).label("roles"),
        User.email,
        User.email_verified_at.is_not(None).label("email_verified"),
    )
    .join(User, User.id == Session.user_id)
    .where(Session.id == bindparam("sid"))
))


@dataclass(frozen=True)
class Principal:
    """The account behind a verified, unrevoked access token."""

    id: int
    username: str
    created_at: datetime
    session_id: str
    roles: tuple[str, ...] = ()
    email: str | None = None
    email_verified: bool = False

    def has_roles(self, *names: str) -> bool:
        """True if the account holds every one of ``names`` now."""
        return all(name in self.roles for name in names)


def find_principal(jti: str, session_id: str, subject: str) -> Principal | None:
    """The principal if neither the token's jti nor its session is revoked, else None."""
    row = direct.fetch_one(REVOCATION_CHECK, jti=jti, sid=session_id)
    if row is None:
        return None
    session_revoked, token_revoked, user_id, username, created_at, roles, email, verified = row
    if session_revoked or token_revoked or str(user_id) != subject:
        return None
    return Principal(user_id, username, created_at, session_id, parse_names(roles), email,
                     bool(verified))
