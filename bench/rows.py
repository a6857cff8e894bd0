"""The result table's rows: what one scenario measured, its summary figures and ratios."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.servers import WrkResult

BASELINE_A = "A bare Flask"
BASELINE_B = "B @jwt_required"
BASELINE_C = "C ORM blocklist"
BASELINE_D = "D Express + jsonwebtoken"
NO_WORKERS = "-"  # the workers column of D: one node process, no gunicorn worker setup
# Saved results round each figure to these digits; checks on a live run see full precision.
DIGITS = {"rps": 1, "p50_ms": 3, "p99_ms": 3, "ratio_a": 3, "ratio_b": 3, "ratio_c": 3,
          "ratio_d": 3, "spread_pct": 1}


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
    ratio_c: float | None = None
    ratio_d: float | None = None

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

    def figures(self) -> dict[str, Any]:
        """The row as the report and the targets read it, at full precision."""
        return {
            "scenario": self.scenario, "database": self.database, "workers": self.workers,
            "rps": self.rps, "p50_ms": self.p50, "p99_ms": self.p99, "ratio_a": self.ratio_a,
            "ratio_b": self.ratio_b, "ratio_c": self.ratio_c, "ratio_d": self.ratio_d,
            "spread_pct": self.spread, "errors": self.errors,
            "runs": [run.as_dict() for run in self.runs], "latencies_ms": self.latencies_ms,
            "notes": self.notes,
        }

    def as_dict(self) -> dict[str, Any]:
        """The row as the results file keeps it: the same keys, rounded."""
        figures = self.figures()
        figures.update({key: rounded(figures[key], digits) for key, digits in DIGITS.items()})
        figures["latencies_ms"] = [round(value, 3) for value in self.latencies_ms]
        return figures


def rounded(value: float | None, digits: int) -> float | None:
    """``value`` rounded, or None where nothing was measured."""
    if value is None or math.isnan(value):
        return None
    return round(value, digits)


def rows_label(size: int) -> str:
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def parse_size(text: str) -> int:
    """``1k`` -> 1000, ``1M`` or ``1_000_000`` -> 1000000: the inverse of ``rows_label``."""
    value = text.strip().lower().replace("_", "")
    multiplier = 1_000_000 if value.endswith("m") else 1000 if value.endswith("k") else 1
    return int(value.rstrip("mk")) * multiplier


def find(rows: Sequence[Row], scenario: str, database: str, workers: str) -> Row | None:
    for row in rows:
        if (row.scenario, row.database, row.workers) == (scenario, database, workers):
            return row
    return None


def add_ratios(rows: Sequence[Row]) -> None:
    """Each wrk-driven row's req/s over each baseline measured beside it.

    A and B: of the same worker setup; C: of the same database and worker setup;
    D: its one row, whatever the worker setup (node has none).
    """
    for row in rows:
        baselines = {"ratio_a": find(rows, BASELINE_A, "-", row.workers),
                     "ratio_b": find(rows, BASELINE_B, "-", row.workers),
                     "ratio_c": find(rows, BASELINE_C, row.database, row.workers),
                     "ratio_d": find(rows, BASELINE_D, "-", NO_WORKERS)}
        for name, baseline in baselines.items():
            if row.runs and baseline is not None and baseline.runs:
                setattr(row, name, row.rps / baseline.rps)
        algorithm = row.notes.get("algorithm")
        hs256 = find(rows, row.scenario.removesuffix(f" {algorithm}"), row.database,
                     row.workers) if algorithm else None
        if row.runs and hs256 is not None and hs256.runs:
            row.notes["vs_hs256"] = round(row.rps / hs256.rps, 3)


def ordered(rows: Sequence[Row], databases: Sequence[str], sizes: Sequence[int],
            workers: Sequence[str]) -> list[Row]:
    """Baselines, then /api/me by database and size, refresh, login; in the options' order."""
    kinds = ("A ", "B ", "C ", "D ", "/api/me", "refresh", "login")
    databases = ["-", *databases]
    workers = [*workers, NO_WORKERS]
    labels = [rows_label(size) for size in sorted(sizes)]

    def key(row: Row) -> tuple[int, ...]:
        kind = next(i for i, prefix in enumerate(kinds) if row.scenario.startswith(prefix))
        size = row.notes.get("rows")
        return (kind, databases.index(row.database), labels.index(size) if size else 0,
                workers.index(row.workers))

    return sorted(rows, key=key)
