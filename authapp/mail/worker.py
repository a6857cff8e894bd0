"""A delivery thread in every app process, so nothing extra has to be started.

Each process (every gunicorn worker, the development server) starts one
daemon thread on its first request. It delivers what is due every
``MAIL_POLL_SECONDS`` and at once when a transaction of its own process that
queued mail commits. Workers in many processes and on many instances share
the outbox safely: a row is claimed by one of them (mail/delivery.py).
"""

import logging
import os
import threading
import weakref

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from authapp.mail.outbox import QUEUED

log = logging.getLogger(__name__)
EXTENSION_KEY = "authapp.mail_worker"


class MailWorker:
    """The delivery thread of one process for one app."""

    def __init__(self, app: Flask) -> None:
        self.app_ref = weakref.ref(app)  # the thread ends once its app is gone
        self.interval = app.config["MAIL_POLL_SECONDS"]
        self.pid = os.getpid()
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="authapp-mail", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from authapp.mail.delivery import deliver_due

        while not self.stopping.is_set():
            app = self.app_ref()
            if app is None:
                return
            try:
                with app.app_context():
                    deliver_due()
            except Exception:  # noqa: BLE001  (the database may be down: try again later)
                log.warning("mail delivery pass failed; retrying in %s s", self.interval,
                            exc_info=True)
            del app
            self.wakeup.wait(self.interval)
            self.wakeup.clear()

    def stop(self) -> None:
        self.stopping.set()
        self.wakeup.set()
        self.thread.join(timeout=5)


def _ensure_worker(app: Flask) -> MailWorker:
    worker = app.extensions.get(EXTENSION_KEY)
    if worker is None or worker.pid != os.getpid():  # none yet, or inherited through a fork
        worker = app.extensions[EXTENSION_KEY] = MailWorker(app)
    return worker


def register_mail_worker(app: Flask) -> None:
    """Start this process's worker on its first request (after any fork), if enabled."""
    if not app.config["MAIL_WORKER_ENABLED"]:
        return
    started_in: list[int] = []

    def start_once() -> None:
        if not started_in or started_in[0] != os.getpid():
            started_in[:] = [os.getpid()]
            _ensure_worker(app)

    app.before_request(start_once)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_mail(session: Session) -> None:
    session.info.pop(QUEUED, None)


@event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    """Mail just committed by this process goes out now, not at the next poll."""
    if session.info.pop(QUEUED, False):
        from flask import current_app

        worker = current_app.extensions.get(EXTENSION_KEY)
        if worker is not None:
            worker.wakeup.set()
