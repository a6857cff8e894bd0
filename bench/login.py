"""POST /api/auth/login at bcrypt cost 12, timed against bcrypt itself on the same core."""

import contextlib
import http.client
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

from bench import data, servers
from bench.harness import Bench
from bench.rows import Row
from bench.servers import WorkerConfig

WARMUP = 3  # sign-ins measured but discarded before the first counted one
BCRYPT_PROBE = """
import sys, time, bcrypt
password = b"bench: correct horse battery staple"
hashed = bcrypt.hashpw(password, bcrypt.gensalt(12))
for _line in sys.stdin:
    start = time.perf_counter()
    ok = bcrypt.checkpw(password, hashed)
    print((time.perf_counter() - start) * 1000 if ok else -1, flush=True)
"""


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


@contextlib.contextmanager
def bcrypt_probe(cpu: int | None) -> Iterator[Callable[[], float]]:
    """A helper process on ``cpu``; calling the yielded function times one check there."""
    command = [sys.executable, "-c", BCRYPT_PROBE]
    if cpu is not None:
        command = ["taskset", "-c", str(cpu), *command]
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


def login(bench: Bench, database: data.Database, workers: WorkerConfig, url: str,
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
    with bcrypt_probe(bench.options.server_cpu) as probe:
        for number in range(WARMUP + bench.options.login_requests):
            elapsed = timed_request(url, "POST", "/api/auth/login", body, headers)
            bcrypt_ms = probe()
            bare_ms = timed_request(bare_url, "GET", "/api/me", None, {})
            probe()  # so the next sign-in, too, follows a bcrypt check
            if number >= WARMUP:
                latencies.append(elapsed)
                checks.append(bcrypt_ms)
                bare.append(bare_ms)
    bcrypt_ms = statistics.median(checks)
    bench.bcrypt_ms.append(bcrypt_ms)
    row = Row("login (bcrypt 12)", database.backend, workers.label, latencies_ms=latencies,
              notes={"bcrypt_ms": round(bcrypt_ms, 3),
                     "bcrypt_samples_ms": [round(value, 3) for value in checks],
                     "overhead_ms": round(statistics.median(latencies) - bcrypt_ms, 3),
                     "bare_cold_ms": round(statistics.median(bare), 3)})
    bench.rows.append(row)
    bench.say(f"  login: median {row.p50:.2f} ms over {len(latencies)} requests; "
              f"bcrypt.checkpw in-process {bcrypt_ms:.2f} ms; a bare Flask request in "
              f"the same cold state {row.notes['bare_cold_ms']:.2f} ms")
