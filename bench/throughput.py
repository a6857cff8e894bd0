"""GET /api/me and the baselines, driven by wrk in interleaved rounds."""

import contextlib
from dataclasses import dataclass
from pathlib import Path

from bench import data
from bench.harness import Bench
from bench.rows import Row
from bench.servers import WorkerConfig

BARE_APP = "bench.baseline_app:create_bare_app()"
JWT_APP = "bench.baseline_app:create_jwt_app()"
ORM_APP = "bench.baseline_app:create_orm_app()"
NODE_APP = "node"  # baseline D, bench/node/server.js: not a WSGI app (servers.node)
PROJECT_APP = "wsgi:app"


@dataclass
class Server:
    """A server in an interleaved round: its table row, app, database and tokens."""

    row: Row
    app: str  # a gunicorn app, or NODE_APP
    database: data.Database | None
    tokens: Path
    algorithm: str = "HS256"

    def start(self, bench: Bench, workers: WorkerConfig) -> contextlib.AbstractContextManager[str]:
        """The server up (its base URL); node has no worker setup and ignores ``workers``."""
        if self.app == NODE_APP:
            return bench.node_server()
        return bench.server(self.app, workers, self.database, self.algorithm)


def interleaved(bench: Bench, workers: WorkerConfig, lineup: list[Server]) -> None:
    """All servers up at once (idle ones cost nothing); runs go round-robin over them.

    Drift on a shared machine then hits every scenario alike, so the ratios
    between the baselines and the table sizes stay honest.
    """
    options = bench.options
    with contextlib.ExitStack() as stack:
        urls = []
        for target in lineup:
            bench.rows.append(target.row)
            urls.append(stack.enter_context(target.start(bench, workers)))
        bench.say(f"{workers.label}: {len(lineup)} servers up; "
                  f"{options.runs} rounds of " + ", ".join(
                      f"{t.row.scenario}{'' if t.database is None else ' ' + t.row.database}"
                      for t in lineup))
        if options.warmup > 0:
            for target, url in zip(lineup, urls, strict=True):
                warm = bench.wrk(url, "bearer_pool.lua", ["/api/me", str(target.tokens)],
                                 options.warmup)
                target.row.notes["warmup_rps"] = round(warm.rps, 1)
        for number in range(options.runs):
            for target, url in zip(lineup, urls, strict=True):
                result = bench.wrk(url, "bearer_pool.lua", ["/api/me", str(target.tokens)],
                                   options.duration)
                target.row.runs.append(result)
                bench.say_run(target.row, result, number)
