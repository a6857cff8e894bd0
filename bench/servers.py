"""gunicorn servers and baseline D's node server pinned to one core, wrk pinned to another.

Every process started here is recorded in ``STARTED`` and lives in its own
process group; ``stop_all()`` (called from the runner's ``finally`` and from
its signal handlers) terminates each group by id and kills what lingers.
"""

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
LUA_DIR = BENCH_DIR / "lua"
GUNICORN_CONFIG = BENCH_DIR / "gunicorn_bench.py"
NODE_DIR = BENCH_DIR / "node"
STARTUP_TIMEOUT = 30.0
SHUTDOWN_TIMEOUT = 10.0

STARTED: dict[int, subprocess.Popen] = {}  # pid -> process, each its own process group


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def spawn(command: Sequence[str], *, env: Mapping[str, str] | None = None,
          stdout: Any = subprocess.DEVNULL, cwd: Path = REPO_ROOT) -> subprocess.Popen:
    """Start a process in a new process group and remember it for ``stop``/``stop_all``."""
    process = subprocess.Popen(  # noqa: S603  (our own fixed commands)
        list(command), cwd=cwd, env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
        start_new_session=True)
    STARTED[process.pid] = process
    return process


def stop(process: subprocess.Popen) -> None:
    """SIGTERM the process group, SIGKILL whatever is left; never leaves one behind."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=SHUTDOWN_TIMEOUT)
    # A worker may outlive its master: clean up the whole group either way.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=SHUTDOWN_TIMEOUT)
    STARTED.pop(process.pid, None)


def stop_all() -> None:
    for process in list(STARTED.values()):
        stop(process)


@dataclass(frozen=True)
class WorkerConfig:
    """A gunicorn worker setup: ``sync``, or ``gthread`` with ``threads`` threads."""

    worker_class: str
    threads: int = 1

    @property
    def label(self) -> str:
        return self.worker_class if self.worker_class == "sync" else \
            f"{self.worker_class}×{self.threads}"


def _get(port: int, path: str, timeout: float = 2.0) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def gunicorn(app: str, workers: WorkerConfig, env: Mapping[str, str], log_path: Path,
             cpu: int | None) -> contextlib.AbstractContextManager[str]:
    """Serve ``app`` with one gunicorn worker pinned to ``cpu``; yields the base URL."""
    port = free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"), "-c", str(GUNICORN_CONFIG),
        "--bind", f"127.0.0.1:{port}", "--worker-class", workers.worker_class,
        "--threads", str(workers.threads), app,
    ]
    return _serve("gunicorn", command, port, {**env, "PYTHONUNBUFFERED": "1"}, log_path, cpu)


def node_missing() -> str | None:
    """Why baseline D cannot run here, or None if it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    folder = NODE_DIR.relative_to(REPO_ROOT)
    if not (NODE_DIR / "node_modules").is_dir():
        return f"{folder}/node_modules is missing (npm ci --prefix {folder}; make bench runs it)"
    return None


def node(env: Mapping[str, str], log_path: Path,
         cpu: int | None) -> contextlib.AbstractContextManager[str]:
    """Baseline D (bench/node/server.js): one node process pinned to ``cpu``; yields the URL."""
    port = free_port()
    return _serve("node", ["node", str(NODE_DIR / "server.js")], port,
                  {**env, "PORT": str(port), "NODE_ENV": "production"}, log_path, cpu)


@contextlib.contextmanager
def _serve(name: str, command: list[str], port: int, env: Mapping[str, str], log_path: Path,
           cpu: int | None) -> Iterator[str]:
    """Run ``command`` (pinned to ``cpu``) until the context ends, once it answers on ``port``."""
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    with open(log_path, "ab") as log:
        process = spawn(command, env=env, stdout=log)
    try:
        _wait_until_healthy(name, process, port, log_path)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def _wait_until_healthy(name: str, process: subprocess.Popen, port: int,
                        log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    last = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} during startup:\n"
                               f"{log_path.read_text(errors='replace')[-3000:]}")
        try:
            status = _get(port, "/api/health")
        except OSError as exc:
            last = repr(exc)
        else:
            if status == 200:
                return
            last = f"GET /api/health answered {status}"
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become healthy in {STARTUP_TIMEOUT:.0f} s ({last}):\n"
                       f"{log_path.read_text(errors='replace')[-3000:]}")


@dataclass(frozen=True)
class WrkResult:
    """One wrk run, as bench/lua/report.lua prints it."""

    requests: int
    duration_s: float
    errors: dict[str, int]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    exhausted: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return {"rps": round(self.rps, 1), "requests": self.requests,
                "duration_s": round(self.duration_s, 3), "errors": self.errors,
                "p50_ms": self.p50_ms, "p90_ms": self.p90_ms, "p99_ms": self.p99_ms,
                "mean_ms": self.mean_ms, "max_ms": self.max_ms, "exhausted": self.exhausted}


def wrk(url: str, script: str, script_args: Sequence[str], *, seconds: float,
        connections: int, cpu: int | None, log_path: Path) -> WrkResult:
    """``taskset -c <cpu> wrk -t1 -c<N> -d<secs>s --latency -s <script>``, parsed."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency",
               "--timeout", "10s", "-s", str(LUA_DIR / script), url, "--", *script_args]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
    env = {**os.environ, "LUA_PATH": f"{LUA_DIR}/?.lua;;"}
    output_path = log_path.with_suffix(".out")
    with open(output_path, "wb") as output:
        process = spawn(command, env=env, stdout=output)
    try:
        returncode = process.wait(timeout=seconds + 60)
    finally:
        stop(process)
    text = output_path.read_text(errors="replace")
    with open(log_path, "a") as log:
        log.write(f"$ {' '.join(command)}\n{text}\n")
    for line in text.splitlines():
        if line.startswith("BENCH_RESULT "):
            data = json.loads(line.removeprefix("BENCH_RESULT "))
            latency = data["latency_us"]
            return WrkResult(
                requests=data["requests"], duration_s=data["duration_us"] / 1e6,
                errors=data["errors"], p50_ms=latency["p50"] / 1000,
                p90_ms=latency["p90"] / 1000, p99_ms=latency["p99"] / 1000,
                mean_ms=latency["mean"] / 1000, max_ms=latency["max"] / 1000,
                exhausted=data["exhausted"])
    raise RuntimeError(f"wrk exited with {returncode} and no result line:\n{text[-2000:]}")
