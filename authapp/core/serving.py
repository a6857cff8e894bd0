"""How many processes and threads serve the app, and what that costs in database connections.

gunicorn.conf.py reads its worker and thread counts from here, and ``flask auth
doctor`` adds up the connections they may open, so the two never disagree.
"""

import multiprocessing
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# SQLAlchemy's QueuePool defaults, used when SQLALCHEMY_ENGINE_OPTIONS names neither.
DEFAULT_POOL_SIZE = 5
DEFAULT_MAX_OVERFLOW = 10


def workers(environ: Mapping[str, str] = os.environ) -> int:
    """gunicorn worker processes: ``WEB_CONCURRENCY``, else 2 × CPUs + 1."""
    return int(environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))


def threads(environ: Mapping[str, str] = os.environ) -> int:
    """Threads per worker: ``AUTHAPP_THREADS``, else 4."""
    return int(environ.get("AUTHAPP_THREADS", "4"))


@dataclass(frozen=True)
class ConnectionBudget:
    """The most database connections the serving processes can hold at once.

    Each worker has one pool, shared by its threads, which can use at most one
    pooled connection each; and each thread keeps one direct connection of its
    own for the hot statements (db/direct.py).
    """

    workers: int
    threads: int
    pool_limit: int

    @property
    def per_worker(self) -> int:
        return min(self.threads, self.pool_limit) + self.threads

    @property
    def total(self) -> int:
        return self.workers * self.per_worker


def connection_budget(config: Mapping[str, Any],
                      environ: Mapping[str, str] = os.environ) -> ConnectionBudget:
    """The budget for this configuration and gunicorn's settings in ``environ``."""
    options = config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
    pool_limit = (options.get("pool_size", DEFAULT_POOL_SIZE)
                  + options.get("max_overflow", DEFAULT_MAX_OVERFLOW))
    return ConnectionBudget(workers(environ), threads(environ), pool_limit)
