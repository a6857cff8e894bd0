"""Refresh-token pools minted by helper processes on both cores, between measurements.

Minting goes through the app's own services (one ``start_session`` commit per
token), which is mostly Python work; two processes halve the wait.  They only
run while no server is being measured.
"""

import os
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from bench import data

_app: Any = None
_user_ids: list[int] = []


def _initialize(database: data.Database, secret_key: str, jwt_secret_key: str,
                instance_path: str, user_ids: list[int], cpus: set[int]) -> None:
    global _app, _user_ids
    if cpus:
        os.sched_setaffinity(0, cpus)
    _app = data.make_app(database, secret_key, jwt_secret_key, Path(instance_path))
    _user_ids = user_ids


def _mint(size: int, offset: int) -> list[str]:
    with _app.app_context():
        users = _user_ids[offset % len(_user_ids):] + _user_ids[:offset % len(_user_ids)]
        return data.refresh_token_pool(size, users)


class Minter:
    """A pool of helper processes that mint refresh tokens for one bench database."""

    def __init__(self, database: data.Database, secret_key: str, jwt_secret_key: str,
                 instance_path: Path, user_ids: list[int], processes: int = 2) -> None:
        cpus = set(range(os.cpu_count() or 1))  # every core: nothing is measured meanwhile
        self.processes = processes
        self.executor = ProcessPoolExecutor(
            max_workers=processes, mp_context=get_context("spawn"), initializer=_initialize,
            initargs=(database, secret_key, jwt_secret_key, str(instance_path), user_ids,
                      cpus))

    def mint(self, size: int) -> list[str]:
        """``size`` refresh tokens, each of its own fresh session."""
        share = -(-size // self.processes)
        futures: list[Future[list[str]]] = [
            self.executor.submit(_mint, min(share, size - i * share), i * 7)
            for i in range(self.processes) if size - i * share > 0]
        return [token for future in futures for token in future.result()]

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
