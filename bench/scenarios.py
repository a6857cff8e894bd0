"""The order of a run: seed the databases, then /api/me with the baselines, refresh, login."""

import contextlib

from bench import rows
from bench.databases import Prepared, baseline_tokens, postgres_available, prepare
from bench.harness import Bench
from bench.login import login
from bench.minting import Minter
from bench.refresh import refresh
from bench.rows import Row
from bench.servers import node_missing
from bench.throughput import BARE_APP, JWT_APP, NODE_APP, ORM_APP, PROJECT_APP, Server, interleaved


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
        node_rounds = bench.workers[0] if tokens is not None and node_usable(bench) else None
        for workers in bench.workers:
            lineup = []
            if tokens is not None:
                lineup += [Server(Row(rows.BASELINE_A, "-", workers.label), BARE_APP, None,
                                  tokens),
                           Server(Row(rows.BASELINE_B, "-", workers.label), JWT_APP, None,
                                  tokens)]
            if workers == node_rounds:  # D: one row for the run, in the first setup's rounds
                lineup.append(Server(Row(rows.BASELINE_D, "-", rows.NO_WORKERS,
                                         notes={"rounds_of": workers.label}),
                                     NODE_APP, None, tokens))
            if "me" in options.scenarios:
                for backend in backends:
                    if tokens is not None:
                        lineup.append(orm_server(workers.label, prepared[(backend, sizes[0])]))
                    lineup += [server for size in sizes
                               for server in me_servers(workers.label, prepared[(backend, size)])]
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


def node_usable(bench: Bench) -> bool:
    """Whether baseline D can run; if not, says why (a SKIP, not a failure)."""
    missing = node_missing()
    if missing is not None:
        bench.say(f"SKIP  baseline {rows.BASELINE_D}: {missing}; the ×D column stays empty")
    return missing is None


def orm_server(workers: str, smallest: Prepared) -> Server:
    """Baseline C on a database's smallest tables, so a ratio to C never flatters /api/me."""
    backend = smallest.database.backend
    return Server(Row(rows.BASELINE_C, backend, workers, notes={"rows": smallest.label}),
                  ORM_APP, smallest.database, smallest.tokens)


def me_servers(workers: str, p: Prepared) -> list[Server]:
    """GET /api/me with HS256 tokens, then with each further algorithm's (SPEC §12)."""
    backend = p.database.backend
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
