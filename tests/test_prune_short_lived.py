"""``flask tokens prune`` also drops expired links and sign-in challenges, and delivered mail."""

from datetime import timedelta

import time_machine
from sqlalchemy import func, select
from support.api import register

from authapp.core.clock import utcnow
from authapp.core.extensions import db
from authapp.db.models import LinkToken, OutboxMessage
from authapp.mail.delivery import deliver_due


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_prune_drops_expired_links_and_old_delivered_mail_only(app, client, runner, tmp_path):
    app.config["MAIL_FILE_DIRECTORY"] = str(tmp_path)
    register(client, "alice", email="alice@example.com")  # a verification link (24 h), a mail
    with app.app_context():
        deliver_due()
    with time_machine.travel(utcnow() + timedelta(hours=1), tick=False):
        register(client, "bob", email="bob@example.com")  # queued, not yet delivered
    assert (count(app, LinkToken), count(app, OutboxMessage)) == (2, 2)

    kept = runner.invoke(args=["tokens", "prune"])
    assert "Removed 0 expired links and sign-in challenges and 0 delivered mails" in kept.output
    with time_machine.travel(utcnow() + timedelta(days=31), tick=False):
        pruned = runner.invoke(args=["tokens", "prune"])
    assert pruned.exit_code == 0, pruned.output
    assert "Removed 2 expired links and sign-in challenges and 1 delivered mails" in pruned.output
    assert count(app, LinkToken) == 0
    with app.app_context():  # the undelivered one stays, whatever its age
        assert db.session.scalars(select(OutboxMessage.status)).all() == ["pending"]
