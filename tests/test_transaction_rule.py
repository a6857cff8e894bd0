"""One transaction rule: flows own the transaction, services never commit."""

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from authapp.accounts import audit
from authapp.core.errors import InvalidCredentials
from authapp.core.extensions import db
from authapp.db.models import AuthEvent
from authapp.db.transaction import flow

PACKAGE = Path(__file__).resolve().parents[1] / "authapp"
# The flow wrapper itself, and `flask tokens prune`, which commits each batch on purpose.
MAY_COMMIT = {"db/transaction.py", "cli/tokens.py"}


def test_only_the_flow_wrapper_commits():
    committing = {str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
                  if re.search(r"\.commit\(\)", path.read_text())}
    assert committing <= MAY_COMMIT, committing - MAY_COMMIT


def events(kind: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuthEvent)
                             .where(AuthEvent.event_type == kind))


@flow
def refused_request() -> None:
    audit.record("login_failed", reason="unknown_user")
    raise InvalidCredentials()


@flow
def crashing_request() -> None:
    audit.record("login_failed", reason="unknown_user")
    raise RuntimeError("boom")


def test_a_flow_ending_in_our_error_keeps_what_it_wrote(app):
    with app.app_context():
        with pytest.raises(InvalidCredentials):
            refused_request()
        db.session.remove()
        assert events("login_failed") == 1


def test_a_flow_ending_in_any_other_error_keeps_nothing(app):
    with app.app_context():
        with pytest.raises(RuntimeError):
            crashing_request()
        db.session.remove()
        assert events("login_failed") == 0


def test_nested_flows_commit_once_at_the_outermost_end(app):
    @flow
    def inner() -> None:
        audit.record("logout")

    @flow
    def outer() -> None:
        inner()
        assert db.session().in_transaction()  # the inner flow did not commit
        raise RuntimeError("a later step failed")

    with app.app_context():
        with pytest.raises(RuntimeError):
            outer()
        db.session.remove()
        assert events("logout") == 0
