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
    return lambda row, _rows: row[key]


def _tables(row: Record, rows: Sequence[Record]) -> list[Record]:
    """The /api/me rows of ``row``'s database and worker setup, smallest table first."""
    same = [other for other in rows if other["scenario"].startswith("/api/me")
            and (other["database"], other["workers"]) == (row["database"], row["workers"])]
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
    "ratio_a": Figure(
        "req/s over baseline A's (bare Flask), same worker setup",
        "{scenario} {comparison} {threshold}×A", _key("ratio_a"),
        lambda value, _row, _rows: f"{value:.3f}×A"),
    "ratio_b": Figure(
        "req/s over baseline B's (`@jwt_required()`), same worker setup",
        "{scenario} {comparison} {threshold}×B", _key("ratio_b"),
        lambda value, _row, _rows: f"{value:.3f}×B"),
    "p99_ms": Figure(
        "99th-percentile latency, median of the runs",
        "{scenario} p99 {comparison} {threshold} ms", _key("p99_ms"),
        lambda value, _row, _rows: f"p99 {value:.1f} ms"),
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
