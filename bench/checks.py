"""The targets held against a run's rows: one verdict per target and row.

``python -m bench.checks FILE...`` checks saved results (bench/results/*.json)
against the targets as they are now.
"""

import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.figures import FIGURES, Record
from bench.targets import TARGETS, Target


@dataclass(frozen=True)
class Check:
    """A target's verdict on one row: PASS, FAIL or SKIP (not measured)."""

    name: str
    target: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status}  {self.target}: {self.detail}"


def _measured(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else value


def evaluate(rows: Sequence[Record], targets: Sequence[Target] = TARGETS) -> list[Check]:
    """A check per target and row it applies to (one SKIP if none); failed requests last."""
    checks = []
    for target in targets:
        figure = FIGURES[target.figure]
        cells = [row for row in rows if target.selects(row) and figure.applies(row, rows)]
        if not cells:
            checks.append(Check(target.name, target.title, "SKIP", "not measured"))
        for row in cells:
            title = f"{target.title} ({target.cell(row)})"
            value = _measured(figure.value(row, rows))
            if value is None:
                checks.append(Check(target.name, title, "SKIP", "not measured"))
            else:
                checks.append(Check(target.name, title, "PASS" if target.holds(value) else "FAIL",
                                    figure.detail(value, row, rows)))
    failed = [f"{row['scenario']}/{row['database']}/{row['workers']}"
              for row in rows if row["errors"]]
    if failed:
        checks.append(Check("no-failed-requests", "no failed requests", "FAIL",
                            ", ".join(failed)))
    return checks


def load(path: Path) -> list[dict[str, Any]]:
    """The rows of a results file written by ``python -m bench.run``."""
    return json.loads(path.read_text())["rows"]


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit("usage: python -m bench.checks RESULTS.json...")
    for name in argv:
        print(f"{name}:")
        for check in evaluate(load(Path(name))):
            print(check.line())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
