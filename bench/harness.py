"""One benchmark run's state and plumbing: options, scratch directory, secrets, rows."""

import argparse
import contextlib
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from bench import data, rows, servers
from bench.rows import Row
from bench.servers import WorkerConfig, WrkResult
from config import Config


class Bench:
    """What every scenario shares: how to start a server, drive wrk and record a row."""

    def __init__(self, options: argparse.Namespace, scratch: Path) -> None:
        self.options = options
        self.scratch = scratch
        self.secret_key = os.urandom(36).hex()
        self.jwt_secret_key = os.urandom(36).hex()
        self.settings = data.server_settings(self.secret_key, self.jwt_secret_key)
        self.rows: list[Row] = []
        self.bcrypt_ms: list[float] = []  # one probe per login measurement
        self.log_path = scratch / "bench.log"
        self.workers = [WorkerConfig("sync") if name == "sync"
                        else WorkerConfig(name, options.threads) for name in options.workers]

    def say(self, message: str) -> None:
        print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)

    def server(self, app: str, workers: WorkerConfig, database: data.Database | None,
               algorithm: str = "HS256") -> contextlib.AbstractContextManager[str]:
        """``app`` served by one pinned gunicorn worker; entering it yields the base URL."""
        env = {**self.settings, "AUTHAPP_JWT_ALGORITHM": algorithm}
        if database is not None:
            env["AUTHAPP_SQLALCHEMY_DATABASE_URI"] = database.url
        return servers.gunicorn(app, workers, data.clean_environment(env),
                                self.scratch / "gunicorn.log", self.options.server_cpu)

    def node_server(self) -> contextlib.AbstractContextManager[str]:
        """Baseline D with the run's JWT secret and the project's issuer and audience."""
        env = {"AUTHAPP_JWT_SECRET_KEY": self.jwt_secret_key,
               "BENCH_JWT_ISSUER": Config.JWT_DECODE_ISSUER,
               "BENCH_JWT_AUDIENCE": Config.JWT_DECODE_AUDIENCE}
        return servers.node(data.clean_environment(env), self.scratch / "node.log",
                            self.options.server_cpu)

    def wrk(self, url: str, script: str, args: list[str], seconds: float) -> WrkResult:
        return servers.wrk(url, script, [*args, "1"], seconds=seconds,
                           connections=self.options.connections, cpu=self.options.client_cpu,
                           log_path=self.log_path)

    def say_run(self, row: Row, result: WrkResult, number: int) -> None:
        self.say(f"  {row.scenario:<24} {row.database:<10} {row.workers:<10} run {number + 1}: "
                 f"{result.rps:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  "
                 f"p99 {result.p99_ms:7.2f} ms" + (f"  ERRORS {result.errors}"
                                                    if result.error_count else ""))

    def ordered_rows(self) -> list[Row]:
        return rows.ordered(self.rows, self.options.databases, self.options.rows,
                            [workers.label for workers in self.workers])

    def logs(self) -> Iterator[Path]:
        """The server and wrk logs written so far, for a post-mortem."""
        for log in (self.scratch / "gunicorn.log", self.scratch / "node.log", self.log_path):
            if log.exists():
                yield log
