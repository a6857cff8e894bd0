"""POST /api/auth/refresh in bearer mode: every refresh token of a fresh pool used once."""

import time
from pathlib import Path

from bench import data
from bench.harness import Bench
from bench.minting import Minter
from bench.rows import Row
from bench.servers import WorkerConfig

PATH = "/api/auth/refresh"
SCRIPT = "refresh_once.lua"
FALLBACK_RPS = 2000.0  # pool sizing when neither /api/me nor a warm-up was measured


def refresh(bench: Bench, database: data.Database, workers: WorkerConfig, url: str,
            minter: Minter) -> None:
    """Each run gets its own pool, sized from the previous run's rate with headroom."""
    options = bench.options
    row = Row("refresh (rotation)", database.backend, workers.label,
              notes={"path": PATH, "pool_sizes": [], "mint_seconds": 0.0})
    same = [r for r in bench.rows if r.database == database.backend
            and r.workers == workers.label and r.scenario.startswith("/api/me")]
    ceiling = same[0].rps if same else FALLBACK_RPS  # the cheapest auth path bounds refresh

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
        return data.write_tokens(bench.scratch / f"refresh-{label}.tokens", tokens)

    bench.rows.append(row)
    if options.warmup > 0:
        warm = bench.wrk(url, SCRIPT, [PATH, str(token_file("warmup", options.warmup))],
                         options.warmup)
        row.notes["warmup_rps"] = round(warm.rps, 1)
    retried = False
    for number in range(options.runs):
        seconds = options.duration
        result = bench.wrk(url, SCRIPT, [PATH, str(token_file(f"run{number}", seconds))],
                           seconds)
        if result.exhausted and not retried:  # the pool was too small: once more, bigger
            retried = True
            row.notes["undersized_rps"] = result.rps
            bench.say(f"  the token pool ran out after {result.requests - result.exhausted} "
                      "requests; repeating the run with a larger pool")
            result = bench.wrk(url, SCRIPT, [PATH, str(token_file(f"run{number}b", seconds))],
                               seconds)
        row.runs.append(result)
        bench.say_run(row, result, number)
    row.notes["mint_seconds"] = round(row.notes["mint_seconds"], 1)
    exhausted = sum(run.exhausted for run in row.runs)
    if exhausted:
        bench.say(f"  WARNING: the refresh pool ran out {exhausted} times (counted as errors)")
