"""The benchmark's target checks, run over a saved results file (no servers, no wrk).

tests/data/bench_results.json is the unedited output of
``make bench BENCH_ARGS="--quick --databases sqlite"`` at 2b1ac15 on a busy 2-vCPU machine,
which is why several targets miss in it.
"""

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from bench.checks import evaluate, load
from bench.figures import FIGURES
from bench.targets import COMPARISONS, TARGETS, markdown

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tests" / "data" / "bench_results.json"

SAVED_VERDICTS = [
    ("FAIL", "/api/me ≥ 0.9×B on sqlite (sync, 1k)"),
    ("PASS", "/api/me ≥ 0.9×B on sqlite (gthread×4, 1k)"),
    ("FAIL", "/api/me ≥ 0.9×B on sqlite (sync, 1M)"),
    ("PASS", "/api/me ≥ 0.9×B on sqlite (gthread×4, 1M)"),
    ("SKIP", "/api/me ≥ 0.75×B on postgresql"),
    ("FAIL", "/api/me with the largest tables ≥ 0.95× with the smallest (sqlite, sync, 1M)"),
    ("FAIL", "/api/me with the largest tables ≥ 0.95× with the smallest (sqlite, gthread×4, 1M)"),
    ("PASS", "refresh ≥ 0.16×A on sqlite (sync)"),
    ("PASS", "refresh ≥ 0.16×A on sqlite (gthread×4)"),
    ("FAIL", "refresh p99 < 50 ms on sqlite with gthread workers (gthread×4)"),
    ("FAIL", "login = bcrypt + < 3 ms (sqlite, sync)"),
    ("PASS", "login = bcrypt + < 3 ms (sqlite, gthread×4)"),
]


@pytest.fixture
def rows() -> list[dict[str, Any]]:
    return load(RESULTS)


def verdicts(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(check.status, check.target) for check in evaluate(rows)]


def row(rows: list[dict[str, Any]], scenario: str, workers: str) -> dict[str, Any]:
    return next(r for r in rows if r["scenario"].startswith(scenario) and r["workers"] == workers)


def test_saved_run_holds_and_misses_the_targets_it_did():
    assert verdicts(load(RESULTS)) == SAVED_VERDICTS


def test_rechecking_a_saved_run_agrees_with_the_verdicts_it_recorded(rows):
    recorded = json.loads(RESULTS.read_text())["checks"]
    assert verdicts(rows) == [(check["status"], check["target"]) for check in recorded]


def test_a_check_says_what_it_measured(rows):
    details = {check.target: check.detail for check in evaluate(rows)}
    assert details["/api/me ≥ 0.9×B on sqlite (sync, 1k)"] == "0.844×B"
    assert details["/api/me with the largest tables ≥ 0.95× with the smallest "
                   "(sqlite, sync, 1M)"] == "1M/1k = 0.920"
    assert details["login = bcrypt + < 3 ms (sqlite, sync)"] == (
        "247.98 ms - bcrypt 240.78 ms = 7.20 ms (a bare cold request: 1.06 ms)")


def flip(rows: list[dict[str, Any]], scenario: str, workers: str, key: str,
         value: float | None) -> list[dict[str, Any]]:
    """A copy of ``rows`` with one figure (of the row or its notes) set to ``value``."""
    changed = copy.deepcopy(rows)
    target = row(changed, scenario, workers)
    (target["notes"] if key in target["notes"] else target)[key] = value
    return changed


@pytest.mark.parametrize(("scenario", "workers", "key", "value", "title", "before", "after"), [
    ("/api/me 1k", "sync", "ratio_b", 0.9,  # ≥ holds at the threshold itself
     "/api/me ≥ 0.9×B on sqlite (sync, 1k)", "FAIL", "PASS"),
    ("/api/me 1k", "gthread×4", "ratio_b", 0.899,
     "/api/me ≥ 0.9×B on sqlite (gthread×4, 1k)", "PASS", "FAIL"),
    ("refresh", "gthread×4", "p99_ms", 50.0,  # < does not
     "refresh p99 < 50 ms on sqlite with gthread workers (gthread×4)", "FAIL", "FAIL"),
    ("refresh", "gthread×4", "p99_ms", 49.9,
     "refresh p99 < 50 ms on sqlite with gthread workers (gthread×4)", "FAIL", "PASS"),
    ("refresh", "sync", "ratio_a", 0.159, "refresh ≥ 0.16×A on sqlite (sync)", "PASS", "FAIL"),
    ("login", "sync", "overhead_ms", 2.99, "login = bcrypt + < 3 ms (sqlite, sync)",
     "FAIL", "PASS"),
    ("/api/me 1M", "sync", "rps", 430.0,  # read across rows: over the 1k row's 451.9 req/s
     "/api/me with the largest tables ≥ 0.95× with the smallest (sqlite, sync, 1M)",
     "FAIL", "PASS"),
], ids=["ratio-at-threshold", "ratio-below", "latency-at-threshold", "latency-below",
        "refresh-ratio-below", "login-overhead-below", "across-rows"])
def test_one_changed_figure_decides_only_its_own_verdict(rows, scenario, workers, key, value, title,
                                                    before, after):
    changed = verdicts(flip(rows, scenario, workers, key, value))
    assert (before, title) in SAVED_VERDICTS
    expected = [(after if target == title else status, target)
                for status, target in SAVED_VERDICTS]
    assert changed == expected


def test_a_figure_that_was_not_measured_is_skipped_not_failed(rows):
    changed = verdicts(flip(rows, "/api/me 1k", "sync", "ratio_b", None))
    assert ("SKIP", "/api/me ≥ 0.9×B on sqlite (sync, 1k)") in changed


def test_a_scenario_that_was_not_run_is_skipped_once(rows):
    without_refresh = [r for r in rows if not r["scenario"].startswith("refresh")]
    found = [verdict for verdict in verdicts(without_refresh) if "refresh" in verdict[1]]
    assert found == [("SKIP", "refresh ≥ 0.16×A on sqlite"),
                     ("SKIP", "refresh p99 < 50 ms on sqlite with gthread workers")]


def test_failed_requests_fail_the_run(rows):
    row(rows, "/api/me 1M", "gthread×4")["errors"] = 3
    assert verdicts(rows)[-1] == ("FAIL", "no failed requests")
    assert evaluate(rows)[-1].detail == "/api/me 1M rows/sqlite/gthread×4"


def test_every_target_names_a_known_figure_and_comparison():
    for target in TARGETS:
        assert target.figure in FIGURES and target.comparison in COMPARISONS, target.name
    assert len({target.name for target in TARGETS}) == len(TARGETS)


def test_bench_readme_lists_the_targets_as_bench_targets_defines_them():
    readme = (ROOT / "bench" / "README.md").read_text()
    block = re.search(r"<!-- targets:begin[^>]*-->\n(.*?)\n<!-- targets:end -->", readme,
                      re.DOTALL)
    assert block is not None, "bench/README.md has no generated targets block"
    assert block.group(1) == markdown(), "regenerate it with: python -m bench.targets"
