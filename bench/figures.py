"""The figures a target can be set on, and how each is read off the results rows.

A row is one line of the results table as ``bench/results/*.json`` keeps it
(``Row.as_dict``), or a live one at full precision (``Row.figures``): the same keys.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.rows import parse_size

Record = Mapping[str, Any]


def _every_row(_row: Record, _rows: Sequence[Record]) -> bool:
    return True


@dataclass(frozen=True)
class Figure:
    """A number read off a row: what it means, how a target on it reads, how it is shown."""

    meaning: str
    wording: str  # formatted with the target's scenario, comparison and threshold
    value: Callable[[Record, Sequence[Record]], float | None]
    detail: Callable[[float, Record, Sequence[Record]], str]
    applies: Callable[[Record, Sequence[Record]], bool] = _every_row


def _key(key: str) -> Callable[[Record, Sequence[Record]], float | None]:
    """The row's ``key``; results saved before that figure existed do not have it."""
    return lambda row, _rows: row.get(key)


def _ratio(baseline: str, what: str, beside: str) -> Figure:
    """req/s over one baseline's: ``ratio_a`` .. ``ratio_d`` (bench.rows.add_ratios)."""
    return Figure(f"req/s over baseline {baseline}'s ({what}), {beside}",
                  f"{{scenario}} {{comparison}} {{threshold}}×{baseline}",
                  _key(f"ratio_{baseline.lower()}"),
                  lambda value, _row, _rows: f"{value:.3f}×{baseline}")


def _max_latency(row: Record, _rows: Sequence[Record]) -> float | None:
    """The slowest request of any run (wrk's latency.max), None for a row without runs."""
    return max((run["max_ms"] for run in row["runs"]), default=None)


def _max_detail(value: float, row: Record, _rows: Sequence[Record]) -> str:
    return f"max {value:.1f} ms over {len(row['runs'])} runs"


def _tables(row: Record, rows: Sequence[Record]) -> list[Record]:
    """The /api/me rows of ``row``'s database, worker setup and algorithm, smallest table
    first."""
    same = [other for other in rows if other["scenario"].startswith("/api/me")
            and (other["database"], other["workers"], other["notes"].get("algorithm"))
            == (row["database"], row["workers"], row["notes"].get("algorithm"))]
    return sorted(same, key=lambda other: parse_size(other["notes"]["rows"]))


def _is_largest_table(row: Record, rows: Sequence[Record]) -> bool:
    tables = _tables(row, rows)
    return len(tables) >= 2 and tables[-1] is row


def _table_detail(value: float, row: Record, rows: Sequence[Record]) -> str:
    return f"{row['notes']['rows']}/{_tables(row, rows)[0]['notes']['rows']} = {value:.3f}"


def _login_detail(value: float, row: Record, _rows: Sequence[Record]) -> str:
    notes = row["notes"]
    return (f"{row['p50_ms']:.2f} ms - bcrypt {notes['bcrypt_ms']:.2f} ms = {value:.2f} ms "
            f"(a bare cold request: {notes['bare_cold_ms']:.2f} ms)")


FIGURES: dict[str, Figure] = {
    "ratio_a": _ratio("A", "bare Flask", "same worker setup"),
    "ratio_b": _ratio("B", "`@jwt_required()`", "same worker setup"),
    "ratio_c": _ratio("C", "`@jwt_required()`, the docs' ORM blocklist and user loader",
                      "same database and worker setup"),
    "ratio_d": _ratio("D", "Express + jsonwebtoken", "one node process for every worker setup"),
    "p99_ms": Figure(
        "99th-percentile latency, median of the runs",
        "{scenario} p99 {comparison} {threshold} ms", _key("p99_ms"),
        lambda value, _row, _rows: f"p99 {value:.1f} ms"),
    "max_ms": Figure(
        "the slowest single request of any run (wrk's latency.max)",
        "{scenario} max latency {comparison} {threshold} ms in every run", _max_latency,
        _max_detail),
    "overhead_ms": Figure(
        "median sign-in minus the median in-process bcrypt check paired with it",
        "{scenario} = bcrypt + {comparison} {threshold} ms",
        lambda row, _rows: row["notes"].get("overhead_ms"), _login_detail),
    "largest_table": Figure(
        "req/s with the largest tables over req/s with the smallest, same worker setup",
        "{scenario} with the largest tables {comparison} {threshold}× with the smallest",
        lambda row, rows: row["rps"] / _tables(row, rows)[0]["rps"], _table_detail,
        _is_largest_table),
}
