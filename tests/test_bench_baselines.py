"""The benchmark's baselines: which one each row's ratios are taken to, the table order and
columns, and when baseline D (node) cannot run."""

from pathlib import Path

import pytest

from bench import report, rows, servers
from bench.checks import load
from bench.rows import Row
from bench.servers import WrkResult

# Saved by a run from before baselines C and D (see tests/test_bench_targets.py).
RESULTS = Path(__file__).resolve().parent / "data" / "bench_results.json"


def measured(scenario: str, database: str, workers: str, rps: float) -> Row:
    """A row of one 1 s run at ``rps`` requests per second."""
    run = WrkResult(requests=int(rps), duration_s=1.0, errors={}, p50_ms=1.0, p90_ms=2.0,
                    p99_ms=3.0, mean_ms=1.0, max_ms=4.0, exhausted=0)
    return Row(scenario, database, workers, runs=[run])


def lineup() -> list[Row]:
    return [
        measured("/api/me 1k rows", "postgresql", "gthread×4", 1200),
        measured("/api/me 1k rows", "sqlite", "sync", 1500),
        measured(rows.BASELINE_D, "-", rows.NO_WORKERS, 1000),
        measured(rows.BASELINE_C, "sqlite", "sync", 500),
        measured(rows.BASELINE_C, "postgresql", "sync", 300),
        measured(rows.BASELINE_B, "-", "gthread×4", 800),
        measured(rows.BASELINE_B, "-", "sync", 750),
        measured(rows.BASELINE_A, "-", "sync", 3000),
        measured(rows.BASELINE_A, "-", "gthread×4", 2400),
    ]


def test_c_is_of_the_same_database_and_workers_and_d_of_every_worker_setup():
    table = lineup()
    rows.add_ratios(table)
    sqlite_sync = rows.find(table, "/api/me 1k rows", "sqlite", "sync")
    postgresql_gthread = rows.find(table, "/api/me 1k rows", "postgresql", "gthread×4")
    assert (sqlite_sync.ratio_a, sqlite_sync.ratio_b, sqlite_sync.ratio_c,
            sqlite_sync.ratio_d) == (0.5, 2.0, 3.0, 1.5)
    # No C was measured on PostgreSQL with gthread workers: no ratio, rather than another C's.
    assert (postgresql_gthread.ratio_b, postgresql_gthread.ratio_c,
            postgresql_gthread.ratio_d) == (1.5, None, 1.2)
    d = rows.find(table, rows.BASELINE_D, "-", rows.NO_WORKERS)
    assert (d.ratio_a, d.ratio_b, d.ratio_c, d.ratio_d) == (None, None, None, 1.0)


def test_without_d_every_d_ratio_stays_empty():
    table = [row for row in lineup() if row.scenario != rows.BASELINE_D]
    rows.add_ratios(table)
    assert all(row.ratio_d is None for row in table)


def test_the_baselines_come_first_a_to_d_then_api_me_by_database():
    ordered = rows.ordered(lineup(), ["sqlite", "postgresql"], [1000], ["sync", "gthread×4"])
    assert [(row.scenario[:2], row.database, row.workers) for row in ordered] == [
        ("A ", "-", "sync"), ("A ", "-", "gthread×4"), ("B ", "-", "sync"),
        ("B ", "-", "gthread×4"), ("C ", "sqlite", "sync"), ("C ", "postgresql", "sync"),
        ("D ", "-", "-"), ("/a", "sqlite", "sync"), ("/a", "postgresql", "gthread×4")]


def test_the_table_has_a_column_per_baseline_and_reads_results_saved_before_c_and_d():
    lines = report.table(load(RESULTS))
    assert lines[0][6:10] == ["×A", "×B", "×C", "×D"]
    assert lines[1][6:10] == ["1.00", "1.46", "—", "—"]


def test_d_is_skipped_without_node(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(servers.shutil, "which", lambda _name: None)
    assert servers.node_missing() == "node is not installed"


def test_d_is_skipped_without_its_modules(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(servers.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(servers, "NODE_DIR", servers.BENCH_DIR / "no-such-folder")
    assert servers.node_missing() == ("bench/no-such-folder/node_modules is missing "
                                      "(npm ci --prefix bench/no-such-folder; make bench runs it)")
