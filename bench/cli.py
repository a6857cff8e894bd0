"""The command line of ``python -m bench.run``: its options and the checks before a run."""

import argparse
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from bench.rows import parse_size

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCENARIOS = ("baseline", "me", "refresh", "login")
DESCRIPTION = """The benchmark suite: ``python -m bench.run`` (``make bench``).

Each server is one gunicorn worker pinned to one core (``--server-cpu``); wrk
drives it from another core (``--client-cpu``), closed-loop, ``--runs`` times
for ``--duration`` seconds after a ``--warmup``.  Reported: req/s (median of
the runs), p50 and p99 latency (medians of the runs' percentiles) and ratios
against four baselines measured in the same run, with their runs interleaved
round-robin with the /api/me runs so that drift on a shared machine affects
all of them alike:

  A  a bare Flask JSON route                      (bench/baseline_app.py)
  B  the same route behind @jwt_required(), no DB (bench/baseline_app.py)
  C  B plus the docs' ORM blocklist check and user loader, per database,
     on its smallest tables                       (bench/baseline_app.py)
  D  Express + jsonwebtoken, one node process, once per run, in the first
     worker setup's rounds; skipped without node  (bench/node/server.js)

Scenarios on SQLite and PostgreSQL, with sync and gthread workers:

  me       GET /api/me with Bearer access tokens of many sessions, with the
           sessions and revoked_tokens tables at each --rows size
  refresh  POST /api/auth/refresh in bearer mode, every refresh token used once
  login    POST /api/auth/login at bcrypt cost 12, sequential, against the
           in-process bcrypt.checkpw time on the server's core, and beside a
           request to A in the same cold state (right after a bcrypt check)

Every server, wrk process and bench database is removed on exit, also on
Ctrl-C, SIGTERM and errors.  Results go to bench/results/ (JSON and Markdown).
The method, the latest figures and the targets: bench/README.md.
"""


def _csv(allowed: tuple[str, ...] | None = None) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        values = [value.strip() for value in text.split(",") if value.strip()]
        if allowed is not None:
            unknown = [value for value in values if value not in allowed]
            if unknown:
                raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {allowed}")
        return values
    return parse


def _sizes(text: str) -> list[int]:
    return [parse_size(value) for value in text.split(",")]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Example: python -m bench.run --quick --databases sqlite --scenarios baseline,me")
    parser.add_argument("--duration", type=float, default=10, help="seconds per run (10)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per scenario (3)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds (2)")
    parser.add_argument("--quick", action="store_true",
                        help="3 runs of 5 s after 1 s warm-up (overrides the three above)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (8)")
    parser.add_argument("--threads", type=int, default=4, help="gthread threads (4)")
    parser.add_argument("--workers", type=_csv(("sync", "gthread")), default=["sync", "gthread"],
                        help="worker classes (sync,gthread)")
    parser.add_argument("--databases", type=_csv(("sqlite", "postgresql")),
                        default=["sqlite", "postgresql"], help="backends (sqlite,postgresql)")
    parser.add_argument("--scenarios", type=_csv(SCENARIOS), default=list(SCENARIOS),
                        help="subset of baseline,me,refresh,login (all)")
    parser.add_argument("--algorithms", type=_csv(("HS256", "ES256", "EdDSA", "RS256")),
                        default=["HS256", "ES256", "EdDSA"],
                        help="signing algorithms of the /api/me rows (HS256,ES256,EdDSA)")
    parser.add_argument("--rows", type=_sizes, default=[1000, 1_000_000],
                        help="table sizes for /api/me, e.g. 1k,1M (1k,1M)")
    parser.add_argument("--login-requests", type=int, default=30,
                        help="sequential sign-ins measured per server (30)")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for gunicorn (0)")
    parser.add_argument("--client-cpu", type=int, default=1,
                        help="core for wrk and this runner (1)")
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "AUTHAPP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help="admin connection used to create and drop the bench database "
             "(AUTHAPP_BENCH_POSTGRES_URL)")
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR,
                        help="where the JSON and Markdown results go (bench/results)")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    options = parser.parse_args(argv)
    if options.quick:
        options.runs, options.duration, options.warmup = 3, 5.0, 1.0
    if options.no_pin:
        options.server_cpu = options.client_cpu = None
    return options


def preflight(options: argparse.Namespace) -> None:
    missing = [tool for tool in ("wrk", "taskset") if shutil.which(tool) is None
               and not (tool == "taskset" and options.no_pin)]
    if missing:
        sys.exit(f"missing: {', '.join(missing)} (Debian: apt-get install -y wrk util-linux)")
    cpus = os.sched_getaffinity(0)
    if not options.no_pin:
        for name in ("server_cpu", "client_cpu"):
            if getattr(options, name) not in cpus:
                sys.exit(f"--{name.replace('_', '-')} {getattr(options, name)} is not one of "
                         f"this machine's CPUs {sorted(cpus)} (or use --no-pin)")
        if options.server_cpu == options.client_cpu:
            sys.exit("--server-cpu and --client-cpu must differ")
