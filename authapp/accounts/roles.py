"""Roles (SPEC §13): named permissions on accounts; ``admin`` is built in.

The per-request check (revocation.py) reads a user's current role names
inside its one statement through ``role_names_of``, so a role taken away
counts at the next request. ``grant_role``, ``revoke_role`` and
``change_roles`` are the flows, each with its event on the account's timeline.
"""

import re
from collections.abc import Iterable

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from authapp.accounts import audit
from authapp.core.errors import ValidationFailed
from authapp.core.extensions import db
from authapp.db.models import ROLE_NAME_MAX, Role, UserRole
from authapp.db.transaction import flow
from authapp.http.client import Client

ADMIN = "admin"
ROLE_NAME = re.compile(rf"[a-z][a-z0-9_-]{{0,{ROLE_NAME_MAX - 1}}}")
MAX_ROLES = 32  # per account; bounds the token's roles claim
SEPARATOR = ","  # never in a role name


def role_names_of(user_id: ColumnElement[int]) -> ScalarSelect[str]:
    """The user's role names joined by ``SEPARATOR`` (NULL for none), as a scalar subquery
    that correlates with the enclosing statement's ``user_id``."""
    # The separator as SQL text: a bound one would be a post-compile parameter, which the
    # direct path (compiled once, to plain SQL) cannot carry.
    return (select(func.aggregate_strings(Role.name, literal_column(f"'{SEPARATOR}'")))
            .select_from(UserRole).join(Role, Role.id == UserRole.role_id)
            .where(UserRole.user_id == user_id)
            .scalar_subquery())


ROLES_OF_USER = select(role_names_of(bindparam("user_id")))


def parse_names(joined: str | None) -> tuple[str, ...]:
    """``role_names_of``'s value as sorted names."""
    return tuple(sorted(joined.split(SEPARATOR))) if joined else ()


def names_of(user_id: int) -> tuple[str, ...]:
    """The user's current role names, sorted."""
    return parse_names(db.session.scalar(ROLES_OF_USER, {"user_id": user_id}))


def name_problems(name: str) -> list[str]:
    """Why ``name`` cannot be a role name (empty when it can)."""
    if ROLE_NAME.fullmatch(name):
        return []
    return [f"A role name is 1–{ROLE_NAME_MAX} lowercase letters, digits, '_' or '-', "
            "starting with a letter."]


def check_names(names: Iterable[str], field: str = "roles") -> tuple[str, ...]:
    """``names`` sorted and without repeats, or ValidationFailed naming ``field``."""
    wanted = tuple(sorted(set(names)))
    problems = [problem for name in wanted for problem in name_problems(name)]
    if len(wanted) > MAX_ROLES:
        problems.append(f"An account holds at most {MAX_ROLES} roles.")
    if problems:
        raise ValidationFailed({field: sorted(set(problems))})
    return wanted


def _role_ids(names: tuple[str, ...]) -> dict[str, int]:
    """Ids of the named roles, creating the ones that do not exist yet (race-safe)."""
    if not names:
        return {}
    dialect_insert = postgresql_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(dialect_insert(Role).values([{"name": name} for name in names])
                       .on_conflict_do_nothing(index_elements=["name"]))
    return dict(db.session.execute(select(Role.name, Role.id).where(Role.name.in_(names))).all())


def set_roles(user_id: int, names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Make the user's roles exactly ``names``; returns (added, removed)."""
    wanted = check_names(names)
    current = set(names_of(user_id))
    added = tuple(sorted(set(wanted) - current))
    removed = tuple(sorted(current - set(wanted)))
    if removed:
        gone = select(Role.id).where(Role.name.in_(removed))
        db.session.execute(delete(UserRole).where(UserRole.user_id == user_id,
                                                  UserRole.role_id.in_(gone)))
    if added:
        ids = _role_ids(added)
        db.session.execute(insert(UserRole), [{"user_id": user_id, "role_id": ids[name]}
                                              for name in added])
    return added, removed


@flow
def grant_role(user_id: int, name: str, client: Client) -> bool:
    """Give the user a role; False if they held it already (nothing is recorded then)."""
    added, _ = set_roles(user_id, (*names_of(user_id), name))
    if added:
        audit.record("role_granted", client=client, user_id=user_id, role=name)
    return bool(added)


@flow
def revoke_role(user_id: int, name: str, client: Client) -> bool:
    """Take a role from the user; False if they did not hold it."""
    _, removed = set_roles(user_id, (role for role in names_of(user_id) if role != name))
    if removed:
        audit.record("role_revoked", client=client, user_id=user_id, role=name)
    return bool(removed)


@flow
def change_roles(user_id: int, names: Iterable[str], client: Client, **details: int
                 ) -> tuple[str, ...]:
    """Set the user's roles to exactly ``names`` (``details``: the acting admin's id);
    returns the roles now held."""
    added, removed = set_roles(user_id, names)
    if added or removed:
        audit.record("roles_changed", client=client, user_id=user_id, added=list(added),
                     removed=list(removed), **details)
    return names_of(user_id)
