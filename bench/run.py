"""The benchmark suite: ``python -m bench.run`` (``make bench``).

Each server is one gunicorn worker pinned to one core (``--server-cpu``); wrk
drives it from another core (``--client-cpu``), closed-loop, ``--runs`` times
for ``--duration`` seconds after a ``--warmup``.  Reported: req/s (median of
the runs), p50 and p99 latency (medians of the runs' percentiles) and ratios
against two baselines measured in the same run on the same gunicorn setup,
with their runs interleaved round-robin with the /api/me runs so that drift
on a shared machine affects all of them alike:

  A  a bare Flask JSON route                      (bench/baseline_app.py)
  B  the same route behind @jwt_required(), no DB (bench/baseline_app.py)

Scenarios on SQLite and PostgreSQL, with sync and gthread workers:

  me       GET /api/me with Bearer access tokens of many sessions, with the
           sessions and revoked_tokens tables at each --rows size
  refresh  POST /api/auth/refresh in bearer mode, every refresh token used once
  login    POST /api/auth/login at bcrypt cost 12, sequential, against the
           in-process bcrypt.checkpw time on the server's core, and beside a
           request to A in the same cold state (right after a bcrypt check)

Every server, wrk process and bench database is removed on exit, also on
Ctrl-C, SIGTERM and errors.  Results go to bench/results/ (JSON and Markdown).
"""

import argparse
import contextlib
import hashlib
import http.client
import json
import math
import os
import platform
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import data, servers
from bench.minting import Minter
from bench.servers import WorkerConfig, WrkResult

RESULTS_DIR = Path(__file__).resolve().parent / "results"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCENARIOS = ("baseline", "me", "refresh", "login")
ME_TOKEN_POOL = 1000
LOGIN_WARMUP = 3
BCRYPT_PROBE = """
import sys, time, bcrypt
password = b"bench: correct horse battery staple"
hashed = bcrypt.hashpw(password, bcrypt.gensalt(12))
for _line in sys.stdin:
    start = time.perf_counter()
    ok = bcrypt.checkpw(password, hashed)
    print((time.perf_counter() - start) * 1000 if ok else -1, flush=True)
"""


BARE_APP = "bench.baseline_app:create_bare_app()"


def timed_request(url: str, method: str, path: str, body: bytes | None,
                  headers: dict[str, str]) -> float:
    """Milliseconds from sending one request on a fresh connection to its last byte."""
    connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=30)
    connection.connect()
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    elapsed = (time.perf_counter() - started) * 1000
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"{method} {path} answered {response.status}: {payload[:300]!r}")
    return elapsed


# -- Results --------------------------------------------------------------------------------


@dataclass
class Row:
    """One table line: a scenario on one database and worker setup."""

    scenario: str
    database: str
    workers: str
    runs: list[WrkResult] = field(default_factory=list)
    # Sequential scenarios (login) fill these instead of ``runs``.
    latencies_ms: list[float] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    ratio_a: float | None = None
    ratio_b: float | None = None

    @property
    def rps(self) -> float:
        if self.runs:
            return statistics.median(run.rps for run in self.runs)
        if self.latencies_ms:
            return 1000 / statistics.median(self.latencies_ms)
        return math.nan

    @property
    def p50(self) -> float:
        if self.runs:
            return statistics.median(run.p50_ms for run in self.runs)
        return statistics.median(self.latencies_ms) if self.latencies_ms else math.nan

    @property
    def p99(self) -> float:
        if self.runs:
            return statistics.median(run.p99_ms for run in self.runs)
        if not self.latencies_ms:
            return math.nan
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]

    @property
    def spread(self) -> float:
        """(max - min) / median of the runs' req/s, in percent."""
        if len(self.runs) < 2:
            return math.nan
        rates = [run.rps for run in self.runs]
        return (max(rates) - min(rates)) / statistics.median(rates) * 100

    @property
    def errors(self) -> int:
        return sum(run.error_count for run in self.runs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "database": self.database, "workers": self.workers,
            "rps": _round(self.rps, 1), "p50_ms": _round(self.p50, 3),
            "p99_ms": _round(self.p99, 3), "ratio_a": _round(self.ratio_a, 3),
            "ratio_b": _round(self.ratio_b, 3), "spread_pct": _round(self.spread, 1),
            "errors": self.errors, "runs": [run.as_dict() for run in self.runs],
            "latencies_ms": [round(value, 3) for value in self.latencies_ms],
            "notes": self.notes,
        }


def _round(value: float | None, digits: int) -> float | None:
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


@dataclass
class Target:
    """A server in an interleaved round: its table row, WSGI app, database and tokens."""

    row: Row
    app: str
    database: data.Database | None
    tokens: Path


@dataclass(frozen=True)
class Prepared:
    """A seeded bench database."""

    database: data.Database
    label: str
    user_ids: list[int]
    tokens: Path


@dataclass
class Check:
    target: str
    status: str  # PASS, FAIL or SKIP
    detail: str


class Bench:
    """One benchmark run: its options, scratch directory, secrets and collected rows."""

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

    # -- plumbing ---------------------------------------------------------------------------

    def say(self, message: str) -> None:
        print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)

    def server(self, app: str, workers: WorkerConfig, database: data.Database | None):
        env = dict(self.settings)
        if database is not None:
            env["AUTHAPP_SQLALCHEMY_DATABASE_URI"] = database.url
        return servers.gunicorn(app, workers, data.clean_environment(env),
                                self.scratch / "gunicorn.log", self.options.server_cpu)

    def wrk(self, url: str, script: str, args: list[str], seconds: float) -> WrkResult:
        return servers.wrk(url, script, [*args, "1"], seconds=seconds,
                           connections=self.options.connections, cpu=self.options.client_cpu,
                           log_path=self.log_path)

    def report(self, row: Row, result: WrkResult, number: int) -> None:
        self.say(f"  {row.scenario:<22} {row.database:<10} {row.workers:<10} run {number + 1}: "
                 f"{result.rps:8.1f} req/s  p50 {result.p50_ms:6.2f} ms  "
                 f"p99 {result.p99_ms:7.2f} ms" + (f"  ERRORS {result.errors}"
                                                    if result.error_count else ""))

    # -- scenarios --------------------------------------------------------------------------

    def interleaved(self, workers: WorkerConfig, targets: list[Target]) -> None:
        """All servers up at once (idle ones cost nothing); runs go round-robin over them.

        Drift on a shared machine then hits every scenario alike, so the ratios
        between the baselines and the table sizes stay honest.
        """
        with contextlib.ExitStack() as stack:
            urls = []
            for target in targets:
                self.rows.append(target.row)
                urls.append(stack.enter_context(self.server(target.app, workers,
                                                            target.database)))
            self.say(f"{workers.label}: {len(targets)} servers up; "
                     f"{self.options.runs} rounds of " + ", ".join(
                         f"{t.row.scenario}{'' if t.database is None else ' ' + t.row.database}"
                         for t in targets))
            if self.options.warmup > 0:
                for target, url in zip(targets, urls, strict=True):
                    warm = self.wrk(url, "bearer_pool.lua", ["/api/me", str(target.tokens)],
                                    self.options.warmup)
                    target.row.notes["warmup_rps"] = round(warm.rps, 1)
            for number in range(self.options.runs):
                for target, url in zip(targets, urls, strict=True):
                    result = self.wrk(url, "bearer_pool.lua", ["/api/me", str(target.tokens)],
                                      self.options.duration)
                    target.row.runs.append(result)
                    self.report(target.row, result, number)

    def refresh_and_login(self, database: data.Database, minter: Minter | None) -> None:
        for workers in self.workers:
            self.say(f"refresh / login, {database.backend}, {workers.label}")
            with self.server("wsgi:app", workers, database) as url:
                if minter is not None:
                    self.refresh(database, workers, url, minter)
                if "login" in self.options.scenarios:
                    with self.server(BARE_APP, workers, None) as bare_url:
                        self.login(database, workers, url, bare_url)

    def refresh(self, database: data.Database, workers: WorkerConfig, url: str,
                minter: Minter) -> None:
        """Each run gets its own pool, sized from the previous run's rate with headroom."""
        row = Row("refresh (rotation)", database.backend, workers.label,
                  notes={"path": "/api/auth/refresh", "pool_sizes": [], "mint_seconds": 0.0})
        same = [r for r in self.rows if r.database == database.backend
                and r.workers == workers.label and r.scenario.startswith("/api/me")]
        ceiling = same[0].rps if same else 2000.0  # the cheapest auth path bounds refresh

        def token_file(label: str, seconds: float) -> Path:
            if "undersized_rps" in row.notes:  # the last pool ran out: be generous
                rate = 2 * row.notes.pop("undersized_rps")
            elif row.runs:
                rate = max(run.rps for run in row.runs)
            else:
                rate = row.notes.get("warmup_rps", ceiling)
            size = int(rate * seconds * 1.3) + 200
            started = time.monotonic()
            tokens = minter.mint(size)
            row.notes["mint_seconds"] += time.monotonic() - started
            row.notes["pool_sizes"].append(size)
            return data.write_tokens(self.scratch / f"refresh-{label}.tokens", tokens)

        self.rows.append(row)
        path = "/api/auth/refresh"
        if self.options.warmup > 0:
            warm = self.wrk(url, "refresh_once.lua",
                            [path, str(token_file("warmup", self.options.warmup))],
                            self.options.warmup)
            row.notes["warmup_rps"] = round(warm.rps, 1)
        retried = False
        for number in range(self.options.runs):
            seconds = self.options.duration
            result = self.wrk(url, "refresh_once.lua",
                              [path, str(token_file(f"run{number}", seconds))], seconds)
            if result.exhausted and not retried:  # the pool was too small: once more, bigger
                retried = True
                row.notes["undersized_rps"] = result.rps
                self.say(f"  the token pool ran out after {result.requests - result.exhausted} "
                         "requests; repeating the run with a larger pool")
                result = self.wrk(url, "refresh_once.lua",
                                  [path, str(token_file(f"run{number}b", seconds))], seconds)
            row.runs.append(result)
            self.report(row, result, number)
        row.notes["mint_seconds"] = round(row.notes["mint_seconds"], 1)
        exhausted = sum(run.exhausted for run in row.runs)
        if exhausted:
            self.say(f"  WARNING: the refresh pool ran out {exhausted} times (counted as errors)")

    def login(self, database: data.Database, workers: WorkerConfig, url: str,
              bare_url: str) -> None:
        """Sequential sign-ins on fresh connections, each paired with an in-process bcrypt check.

        The probe is a separate process pinned to the server's core that times one
        ``bcrypt.checkpw`` at cost 12 right after each sign-in, so both series see the
        same core in the same moment; the first few pairs are discarded. For scale, a
        request to baseline A is timed in the same cold state (right after a probe):
        what any Flask route pays then, before the auth layer does anything.
        """
        body = json.dumps({"username": data.LOGIN_USERNAME, "password": data.LOGIN_PASSWORD,
                           "refresh_in_body": True}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        latencies, checks, bare = [], [], []
        with self.bcrypt_probe() as probe:
            for number in range(LOGIN_WARMUP + self.options.login_requests):
                elapsed = timed_request(url, "POST", "/api/auth/login", body, headers)
                bcrypt_ms = probe()
                bare_ms = timed_request(bare_url, "GET", "/api/me", None, {})
                probe()  # so the next sign-in, too, follows a bcrypt check
                if number >= LOGIN_WARMUP:
                    latencies.append(elapsed)
                    checks.append(bcrypt_ms)
                    bare.append(bare_ms)
        bcrypt_ms = statistics.median(checks)
        self.bcrypt_ms.append(bcrypt_ms)
        row = Row("login (bcrypt 12)", database.backend, workers.label, latencies_ms=latencies,
                  notes={"bcrypt_ms": round(bcrypt_ms, 3),
                         "bcrypt_samples_ms": [round(value, 3) for value in checks],
                         "overhead_ms": round(statistics.median(latencies) - bcrypt_ms, 3),
                         "bare_cold_ms": round(statistics.median(bare), 3)})
        self.rows.append(row)
        self.say(f"  login: median {row.p50:.2f} ms over {len(latencies)} requests; "
                 f"bcrypt.checkpw in-process {bcrypt_ms:.2f} ms; a bare Flask request in "
                 f"the same cold state {row.notes['bare_cold_ms']:.2f} ms")

    @contextlib.contextmanager
    def bcrypt_probe(self) -> Iterator[Callable[[], float]]:
        """A helper process on the server's core; calling the yielded function times one check."""
        command = [sys.executable, "-c", BCRYPT_PROBE]
        if self.options.server_cpu is not None:
            command = ["taskset", "-c", str(self.options.server_cpu), *command]
        process = subprocess.Popen(  # noqa: S603  (our own fixed command)
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            start_new_session=True)
        servers.STARTED[process.pid] = process
        assert process.stdin is not None and process.stdout is not None
        stdin, stdout = process.stdin, process.stdout

        def probe() -> float:
            stdin.write("\n")
            stdin.flush()
            value = float(stdout.readline())
            if value < 0:
                raise RuntimeError("bcrypt probe: checkpw failed")
            return value

        try:
            yield probe
        finally:
            stdin.close()
            servers.stop(process)

    # -- databases --------------------------------------------------------------------------

    def prepare(self, stack: contextlib.ExitStack, backend: str, size: int) -> Prepared:
        """A migrated database seeded to ``size`` rows, and access tokens of its sessions."""
        label = rows_label(size)
        if backend == "sqlite":
            directory = self.scratch / f"sqlite-{label}"
            directory.mkdir()
            database = data.Database("sqlite", f"sqlite:///{directory / 'bench.sqlite3'}")
        else:
            url = stack.enter_context(data.postgres_database(self.options.postgres_url))
            database = data.Database("postgresql", url)
        self.say(f"{backend} {label}: migrating ({database.url.split('@')[-1]})")
        data.migrate(database, self.settings)
        app = data.make_app(database, self.secret_key, self.jwt_secret_key, self.scratch)

        def dispose() -> None:
            with app.app_context():
                data.db.session.remove()
                data.db.engine.dispose()

        stack.callback(dispose)
        with app.app_context():
            user_ids, _login_id = data.seed_users()
            started = time.monotonic()
            data.seed_tables(size, user_ids)
            sizes = data.table_sizes()
            self.say(f"{backend} {label}: seeded in {time.monotonic() - started:.1f} s: "
                     f"{sizes['sessions']:,} sessions, {sizes['revoked_tokens']:,} revoked tokens")
            tokens = data.access_token_pool(ME_TOKEN_POOL)
        token_path = data.write_tokens(self.scratch / f"me-{backend}-{label}.tokens", tokens)
        return Prepared(database, label, user_ids, token_path)

    # -- the whole run ----------------------------------------------------------------------

    def run(self) -> None:
        options = self.options
        backends = [backend for backend in options.databases
                    if backend != "postgresql" or postgres_available(options.postgres_url)]
        if "postgresql" in options.databases and "postgresql" not in backends:
            self.say(f"PostgreSQL is not reachable at {options.postgres_url}: skipped")
        sizes = sorted(options.rows) if "me" in options.scenarios else sorted(options.rows)[:1]
        needs_db = {"me", "refresh", "login"} & set(options.scenarios)
        with contextlib.ExitStack() as stack:
            prepared = {(backend, size): self.prepare(stack, backend, size)
                        for backend in (backends if needs_db else []) for size in sizes}
            baseline_tokens = None
            if "baseline" in options.scenarios:
                app = data.make_app(data.Database("sqlite", f"sqlite:///{self.scratch}/none.db"),
                                    self.secret_key, self.jwt_secret_key, self.scratch)
                with app.app_context():
                    baseline_tokens = data.write_tokens(
                        self.scratch / "baseline.tokens",
                        data.detached_access_tokens(ME_TOKEN_POOL))
            for workers in self.workers:
                targets = []
                if baseline_tokens is not None:
                    targets += [
                        Target(Row("A bare Flask", "-", workers.label),
                               BARE_APP, None, baseline_tokens),
                        Target(Row("B @jwt_required", "-", workers.label),
                               "bench.baseline_app:create_jwt_app()", None, baseline_tokens)]
                if "me" in options.scenarios:
                    targets += [Target(Row(f"/api/me {p.label} rows", backend, workers.label,
                                           notes={"rows": p.label}),
                                       "wsgi:app", p.database, p.tokens)
                                for (backend, _size), p in prepared.items()]
                if targets:
                    self.interleaved(workers, targets)
            if {"refresh", "login"} & set(options.scenarios):
                for backend in backends:
                    smallest = prepared[(backend, sizes[0])]
                    minter = None
                    if "refresh" in options.scenarios:
                        minter = Minter(smallest.database, self.secret_key, self.jwt_secret_key,
                                        self.scratch, smallest.user_ids)
                        stack.callback(minter.close)  # on errors; closing twice is harmless
                    self.refresh_and_login(smallest.database, minter)
                    if minter is not None:
                        minter.close()
        self.add_ratios()

    def add_ratios(self) -> None:
        for row in self.rows:
            a = self.find("A bare Flask", "-", row.workers)
            b = self.find("B @jwt_required", "-", row.workers)
            if row.runs and a is not None:
                row.ratio_a = row.rps / a.rps
            if row.runs and b is not None:
                row.ratio_b = row.rps / b.rps

    def ordered_rows(self) -> list[Row]:
        """Baselines, then /api/me by database and size, refresh, login; sync before gthread."""
        kinds = ("A ", "B ", "/api/me", "refresh", "login")
        databases = ["-", *self.options.databases]
        sizes = [rows_label(size) for size in sorted(self.options.rows)]
        workers = [w.label for w in self.workers]

        def key(row: Row) -> tuple[int, ...]:
            kind = next(i for i, prefix in enumerate(kinds) if row.scenario.startswith(prefix))
            size = row.notes.get("rows")
            return (kind, databases.index(row.database), sizes.index(size) if size else 0,
                    workers.index(row.workers))

        return sorted(self.rows, key=key)

    def find(self, scenario: str, database: str, workers: str) -> Row | None:
        for row in self.rows:
            if (row.scenario, row.database, row.workers) == (scenario, database, workers):
                return row
        return None

    # -- targets ----------------------------------------------------------------------------

    def checks(self) -> list[Check]:
        checks = []
        for backend, floor in (("sqlite", 0.9), ("postgresql", 0.75)):
            for row in self.rows:
                if row.database == backend and row.scenario.startswith("/api/me"):
                    checks.append(_check(
                        f"/api/me >= {floor}×B ({backend}, {row.workers}, {row.notes['rows']})",
                        row.ratio_b, lambda ratio, floor=floor: ratio >= floor,
                        lambda ratio: f"{ratio:.2f}×B"))
        labels = [rows_label(size) for size in sorted(self.options.rows)]
        if len(labels) >= 2:
            small, large = labels[0], labels[-1]
            for backend in self.options.databases:
                for workers in self.workers:
                    low = self.find(f"/api/me {small} rows", backend, workers.label)
                    high = self.find(f"/api/me {large} rows", backend, workers.label)
                    ratio = high.rps / low.rps if low and high else None
                    checks.append(_check(
                        f"/api/me {large} rows within 5% of {small} ({backend}, {workers.label})",
                        ratio, lambda value: value >= 0.95,
                        lambda value: f"{large}/{small} = {value:.3f}"))
        for workers in self.workers:
            row = self.find("refresh (rotation)", "sqlite", workers.label)
            threaded = workers.worker_class == "gthread"
            title = "refresh >= 0.16×A" + (" and p99 < 50 ms" if threaded else "")
            value = None if row is None or row.ratio_a is None else (row.ratio_a, row.p99)
            checks.append(_check(
                f"{title} (sqlite, {workers.label})", value,
                lambda v, threaded=threaded: v[0] >= 0.16 and (v[1] < 50 or not threaded),
                lambda v: f"{v[0]:.3f}×A, p99 {v[1]:.1f} ms"))
        for row in self.rows:
            if row.scenario.startswith("login"):
                overhead = row.notes.get("overhead_ms")
                checks.append(_check(
                    f"login = bcrypt + < 3 ms ({row.database}, {row.workers})", overhead,
                    lambda value: value < 3,
                    lambda value, row=row: f"{row.p50:.2f} ms - bcrypt "
                                           f"{row.notes['bcrypt_ms']:.2f} ms = {value:.2f} ms "
                                           f"(a bare cold request: "
                                           f"{row.notes['bare_cold_ms']:.2f} ms)"))
        if self.rows and any(row.errors for row in self.rows):
            bad = ", ".join(f"{r.scenario}/{r.database}/{r.workers}"
                            for r in self.rows if r.errors)
            checks.append(Check("no failed requests", "FAIL", bad))
        return checks


def _check(target: str, value: Any, passes: Callable[[Any], bool],
           describe: Callable[[Any], str]) -> Check:
    if value is None:
        return Check(target, "SKIP", "not measured")
    return Check(target, "PASS" if passes(value) else "FAIL", describe(value))


def rows_label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def postgres_available(url: str) -> bool:
    try:
        with data.postgres_admin_connect(url):
            return True
    except Exception:  # any failure means: not usable here
        return False


# -- Output ---------------------------------------------------------------------------------


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None or math.isnan(value) else format(value, pattern)


def table(rows: list[Row]) -> list[list[str]]:
    header = ["scenario", "database", "workers", "req/s", "p50 ms", "p99 ms", "×A", "×B",
              "spread", "errors"]
    lines = [header]
    for row in rows:
        lines.append([
            row.scenario, row.database, row.workers, _fmt(row.rps if row.runs else None, ".0f"),
            _fmt(row.p50, ".2f"),
            _fmt(row.p99, ".2f"), _fmt(row.ratio_a, ".2f"), _fmt(row.ratio_b, ".2f"),
            _fmt(row.spread, ".0f") + ("%" if row.runs and len(row.runs) > 1 else ""),
            str(row.errors) if row.runs else "—",
        ])
    return lines


def render_text(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    numeric = set(range(3, len(widths)))
    out = []
    for number, line in enumerate(lines):
        cells = [cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
                 for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def render_markdown(lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(lines[0]) + " |",
           "|" + "|".join("---:" if i >= 3 else "---" for i in range(len(lines[0]))) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out)


def machine_info() -> dict[str, Any]:
    def command(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True,  # noqa: S603
                                  check=False, timeout=10).stdout.strip()
        except OSError:
            return ""

    lscpu = command("lscpu")
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), platform.processor())
    return {
        "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "wrk": " ".join(command("wrk", "-v").split()[:2]) if shutil.which("wrk") else "",
        "git_commit": command("git", "-C", str(data.REPO_ROOT), "rev-parse", "--short", "HEAD"),
        "git_modified": command("git", "-C", str(data.REPO_ROOT), "status", "--porcelain",
                                "--untracked-files=no").splitlines(),
        "code_fingerprint": code_fingerprint(),
    }


def code_fingerprint() -> str:
    """A hash of the served code as it is on disk (HEAD plus uncommitted changes)."""
    digest = hashlib.sha256()
    for path in sorted([*(data.REPO_ROOT / "authapp").rglob("*.py"),
                        data.REPO_ROOT / "config.py", data.REPO_ROOT / "wsgi.py"]):
        digest.update(str(path.relative_to(data.REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def busy_fraction(seconds: float = 1.0) -> float:
    """How busy the CPUs were over ``seconds`` before we start anything (0..1)."""
    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]
        return idle, sum(fields)

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError):
        return math.nan
    return 1 - (idle1 - idle0) / max(1, total1 - total0)


def write_results(bench: Bench, checks: list[Check], info: dict[str, Any],
                  output_dir: Path) -> tuple[Path, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = bench.options
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "options": {key: value for key, value in vars(options).items()
                    if key not in {"postgres_url"}},
        "bcrypt_ms": [round(value, 3) for value in bench.bcrypt_ms],
        "rows": [row.as_dict() for row in bench.ordered_rows()],
        "checks": [vars(check) for check in checks],
    }
    json_path = output_dir / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    markdown = [
        f"# authapp benchmark, {document['when']}",
        "",
        f"Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
        f"Python {info['python']}, SQLite {info['sqlite']}, {info['wrk']}; "
        f"commit {info['git_commit']}"
        + (f" with uncommitted changes to {', '.join(line[3:] for line in info['git_modified'])}"
           if info["git_modified"] else "") + f" (code fingerprint {info['code_fingerprint']}).",
        f"Setup: 1 gunicorn worker on CPU {options.server_cpu}, wrk -t1 -c{options.connections} "
        f"on CPU {options.client_cpu}; {options.runs}×{options.duration:g} s after "
        f"{options.warmup:g} s warm-up; gthread with {options.threads} threads. "
        f"CPU busy before start: {info.get('busy_before_pct', '?')}%.",
        "",
        render_markdown(table(bench.ordered_rows())),
        "",
        "bcrypt.checkpw at cost 12 in-process, paired with each sign-in (median per login row): "
        + (", ".join(f"{value:.1f}" for value in bench.bcrypt_ms) or "—") + " ms.",
        "",
        *[f"- {check.status} {check.target}: {check.detail}" for check in checks],
        "",
    ]
    md_path = output_dir / f"bench-{stamp}.md"
    md_path.write_text("\n".join(markdown))
    shutil.copyfile(json_path, output_dir / "latest.json")
    shutil.copyfile(md_path, output_dir / "latest.md")
    return json_path, md_path


# -- Command line ---------------------------------------------------------------------------


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
    sizes = []
    for value in text.split(","):
        value = value.strip().lower().replace("_", "")
        multiplier = 1_000_000 if value.endswith("m") else 1000 if value.endswith("k") else 1
        sizes.append(int(value.rstrip("mk")) * multiplier)
    return sizes


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run", description=__doc__,
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


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: servers, databases, files


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    preflight(options)
    # Ctrl-C must unwind even where a shell started us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    info = machine_info()
    busy = busy_fraction()
    info["busy_before_pct"] = _round(busy * 100, 1)
    print(f"authapp bench: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}; "
          f"{options.runs}×{options.duration:g} s per scenario after {options.warmup:g} s "
          f"warm-up, wrk -c{options.connections}, gthread ×{options.threads}; code at "
          f"{info['git_commit']}" + (f" + uncommitted changes ({len(info['git_modified'])} files)"
                                     if info["git_modified"] else ""), flush=True)
    if busy > 0.1:
        print(f"WARNING: the CPUs were {busy:.0%} busy before the bench started; "
              "other load makes the figures noisy.", flush=True)
    if options.client_cpu is not None:
        os.sched_setaffinity(0, {options.client_cpu})  # keep this runner off the server's core
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="authapp-bench-"))
    bench = Bench(options, scratch)
    try:
        bench.run()
    except BaseException as exc:
        if bench.rows:
            bench.add_ratios()
            print("\nbench aborted; what was measured so far:\n"
                  + render_text(table(bench.ordered_rows())), file=sys.stderr)
        if not isinstance(exc, KeyboardInterrupt | SystemExit):
            for log in (scratch / "gunicorn.log", bench.log_path):
                if log.exists():
                    print(f"last lines of {log.name}:\n"
                          + log.read_text(errors="replace")[-1500:], file=sys.stderr)
        raise
    finally:
        servers.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)
    bench.add_ratios()
    checks = bench.checks()
    if code_fingerprint() != info["code_fingerprint"]:
        info["code_changed_during_run"] = True
        checks.append(Check("the served code did not change during the run", "FAIL",
                            "authapp/, config.py or wsgi.py changed on disk while measuring; "
                            "servers started later ran other code"))
    print()
    print(render_text(table(bench.ordered_rows())))
    if bench.bcrypt_ms:
        print(f"\nbcrypt.checkpw at cost 12, in-process on CPU {options.server_cpu}, paired with "
              "each sign-in (median per login row): "
              + ", ".join(f"{value:.1f}" for value in bench.bcrypt_ms) + " ms")
    print()
    for check in checks:
        print(f"{check.status}  {check.target}: {check.detail}")
    json_path, md_path = write_results(bench, checks, info, options.output_dir)
    print(f"\nresults: {json_path} and {md_path} "
          f"(total {time.monotonic() - started:.0f} s)")
    return 1 if options.strict and any(check.status == "FAIL" for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
