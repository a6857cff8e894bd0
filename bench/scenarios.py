"""The order of a run: seed the databases, then /api/me with the baselines, refresh, login."""

import contextlib

from bench import rows
from bench.databases import Prepared, baseline_tokens, postgres_available, prepare
from bench.harness import Bench
from bench.login import login
from bench.minting import Minter
from bench.refresh import refresh
from bench.rows import Row
from bench.throughput import BARE_APP, JWT_APP, PROJECT_APP, Server, interleaved


def run(bench: Bench) -> None:
    """Every selected scenario on every reachable database and worker setup; fills ``rows``."""
    options = bench.options
    backends = [backend for backend in options.databases
                if backend != "postgresql" or postgres_available(options.postgres_url)]
    if "postgresql" in options.databases and "postgresql" not in backends:
        bench.say(f"PostgreSQL is not reachable at {options.postgres_url}: skipped")
    sizes = sorted(options.rows) if "me" in options.scenarios else sorted(options.rows)[:1]
    needs_db = {"me", "refresh", "login"} & set(options.scenarios)
    with contextlib.ExitStack() as stack:
        prepared = {(backend, size): prepare(bench, stack, backend, size)
                    for backend in (backends if needs_db else []) for size in sizes}
        tokens = baseline_tokens(bench) if "baseline" in options.scenarios else None
        for workers in bench.workers:
            lineup = []
            if tokens is not None:
                lineup += [Server(Row(rows.BASELINE_A, "-", workers.label), BARE_APP, None,
                                  tokens),
                           Server(Row(rows.BASELINE_B, "-", workers.label), JWT_APP, None,
                                  tokens)]
            if "me" in options.scenarios:
                lineup += [server for (backend, _size), p in prepared.items()
                           for server in me_servers(workers.label, backend, p)]
            if lineup:
                interleaved(bench, workers, lineup)
        if {"refresh", "login"} & set(options.scenarios):
            for backend in backends:
                writes(bench, stack, prepared[(backend, sizes[0])])
    rows.add_ratios(bench.rows)
    for row in bench.rows:
        if "vs_hs256" in row.notes:
            bench.say(f"{row.scenario} {row.database} {row.workers}: "
                      f"{row.notes['vs_hs256']:.2f} x the HS256 req/s")


def me_servers(workers: str, backend: str, p: Prepared) -> list[Server]:
    """GET /api/me with HS256 tokens, then with each further algorithm's (SPEC §12)."""
    servers = [Server(Row(f"/api/me {p.label} rows", backend, workers,
                          notes={"rows": p.label}), PROJECT_APP, p.database, p.tokens)]
    for algorithm, tokens in p.algorithm_tokens.items():
        servers.append(Server(Row(f"/api/me {p.label} rows {algorithm}", backend, workers,
                                  notes={"rows": p.label, "algorithm": algorithm}),
                              PROJECT_APP, p.database, tokens, algorithm))
    return servers


def writes(bench: Bench, stack: contextlib.ExitStack, smallest: Prepared) -> None:
    """Refresh and login on the smallest database, one project server per worker setup."""
    scenarios = bench.options.scenarios
    minter = None
    if "refresh" in scenarios:
        minter = Minter(smallest.database, bench.secret_key, bench.jwt_secret_key,
                        bench.scratch, smallest.user_ids)
        stack.callback(minter.close)  # on errors; closing twice is harmless
    database = smallest.database
    for workers in bench.workers:
        bench.say(f"refresh / login, {database.backend}, {workers.label}")
        with bench.server(PROJECT_APP, workers, database) as url:
            if minter is not None:
                refresh(bench, database, workers, url, minter)
            if "login" in scenarios:
                with bench.server(BARE_APP, workers, None) as bare_url:
                    login(bench, database, workers, url, bare_url)
    if minter is not None:
        minter.close()
