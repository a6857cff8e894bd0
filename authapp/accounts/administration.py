"""What an administrator does to accounts (SPEC §13): find, inspect, disable, enable,
sign out and set roles. The admin API and the /admin pages both call these.

Every change is a flow whose event lands on the target's timeline with the
acting admin's id (``admin_id``). An admin cannot disable their own account
or take their own ``admin`` role: that would lock the console's last door
from inside (the CLI can still do both).
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, or_, select

from authapp.accounts import audit, roles, sessions, users
from authapp.accounts.revocation import Principal
from authapp.core.clock import utcnow
from authapp.core.errors import ResourceNotFound, ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import MAX_USER_ID, AuthEvent, Session, User
from authapp.db.transaction import flow
from authapp.http.client import Client

PER_PAGE_MAX = 100
QUERY_MAX = 100
EVENTS_SHOWN = 20


@dataclass(frozen=True)
class AccountSummary:
    """One account as the admin console lists it."""

    user: User
    roles: tuple[str, ...]
    live_sessions: int


@dataclass(frozen=True)
class AccountPage:
    summaries: list[AccountSummary]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class AccountDetail:
    summary: AccountSummary
    sessions: list[Session]
    events: list[AuthEvent]


def _live_sessions_of(user_id: ColumnElement[int]) -> ScalarSelect[int]:
    return (select(func.count()).select_from(Session)
            .where(Session.user_id == user_id, Session.revoked_at.is_(None),
                   Session.expires_at > utcnow())
            .scalar_subquery())


def _summaries(query: Select) -> list[AccountSummary]:
    query = query.add_columns(roles.role_names_of(User.id), _live_sessions_of(User.id))
    return [AccountSummary(user, roles.parse_names(held), live)
            for user, held, live in db.session.execute(query)]


def check_query(q: str) -> str:
    """The search text, or ValidationFailed for one no account could match."""
    if len(q) > QUERY_MAX or "\x00" in q:
        raise ValidationFailed({"q": [f"At most {QUERY_MAX} characters, without NUL."]})
    return q.strip()


def search_accounts(q: str, page: int, per_page: int) -> AccountPage:
    """Accounts whose name or address contains ``q`` (any case), oldest first, paged."""
    text = check_query(q).casefold()
    per_page = min(max(per_page, 1), PER_PAGE_MAX)
    page = max(page, 1)
    query = select(User)
    if text:
        query = query.where(or_(User.username_key.contains(text, autoescape=True),
                                User.email_key.contains(text, autoescape=True)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = _summaries(query.order_by(User.id).limit(per_page).offset((page - 1) * per_page))
    return AccountPage(rows, page, per_page, total or 0)


def _summary(user_id: int) -> AccountSummary:
    """The account with this id, or ResourceNotFound."""
    found = (_summaries(select(User).where(User.id == user_id))
             if 0 < user_id <= MAX_USER_ID else [])
    if not found:
        raise ResourceNotFound("No such account.")
    return found[0]


def account_detail(user_id: int) -> AccountDetail:
    """One account with its live sessions and latest events."""
    summary = _summary(user_id)
    return AccountDetail(summary, sessions.live_sessions(user_id),
                         audit.recent_events(user_id, limit=EVENTS_SHOWN))


def _not_yourself(admin: Principal, user_id: int, field: str, message: str) -> None:
    if admin.id == user_id:
        raise ValidationFailed({field: [message]})


@flow
def disable(admin: Principal, user_id: int, client: Client) -> tuple[AccountSummary, int]:
    """Disable an account and revoke every session of it; returns it and how many."""
    _not_yourself(admin, user_id, "user", "You cannot disable your own account.")
    _summary(user_id)
    revoked = users.set_disabled(users.get_user(user_id), True, client, admin_id=admin.id)
    return _summary(user_id), revoked


@flow
def enable(admin: Principal, user_id: int, client: Client) -> AccountSummary:
    """Let a disabled account sign in again (nothing to do, and no event, if it is not)."""
    if _summary(user_id).user.disabled_at is None:
        return _summary(user_id)
    users.set_disabled(users.get_user(user_id), False, client, admin_id=admin.id)
    return _summary(user_id)


@flow
def sign_out(admin: Principal, user_id: int, client: Client) -> tuple[AccountSummary, int]:
    """Revoke every session of an account; its tokens stop working at the next request."""
    _summary(user_id)
    revoked = sessions.revoke_all_by_operator(user_id, client, admin_id=admin.id)
    return _summary(user_id), revoked


@flow
def set_roles(admin: Principal, user_id: int, names: list[str], client: Client
              ) -> AccountSummary:
    """Make the account's roles exactly ``names``."""
    if roles.ADMIN not in names:
        _not_yourself(admin, user_id, "roles", "You cannot take your own admin role.")
    _summary(user_id)
    roles.change_roles(user_id, names, client, admin_id=admin.id)
    return _summary(user_id)
