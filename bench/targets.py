"""The benchmark's targets, as data: the one place their thresholds are written.

``python -m bench.targets`` prints them as the Markdown table in bench/README.md.
"""

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench.figures import FIGURES, Record

COMPARISONS: dict[str, tuple[str, Callable[[float, float], bool]]] = {
    ">=": ("≥", operator.ge), ">": (">", operator.gt),
    "<=": ("≤", operator.le), "<": ("<", operator.lt),
}


@dataclass(frozen=True)
class Target:
    """On the rows of ``scenario`` (optionally of one database or worker class),
    ``figure`` compared to ``threshold`` by ``comparison`` holds."""

    name: str
    scenario: str  # how the rows' scenario column starts
    figure: str  # a key of bench.figures.FIGURES
    comparison: str  # a key of COMPARISONS
    threshold: float
    database: str | None = None  # None: every database
    worker_class: str | None = None  # None: every worker setup

    @property
    def title(self) -> str:
        text = FIGURES[self.figure].wording.format(
            scenario=self.scenario, comparison=COMPARISONS[self.comparison][0],
            threshold=f"{self.threshold:g}")
        if self.database is not None:
            text += f" on {self.database}"
        if self.worker_class is not None:
            text += f" with {self.worker_class} workers"
        return text

    def selects(self, row: Record) -> bool:
        # The targets are HS256 figures; the ES256/EdDSA rows report their ratio to HS256.
        return (row["scenario"].startswith(self.scenario)
                and not (row.get("notes") or {}).get("algorithm")
                and self.database in (None, row["database"])
                and self.worker_class in (None, row["workers"].split("×")[0]))

    def holds(self, value: float) -> bool:
        return COMPARISONS[self.comparison][1](value, self.threshold)

    def cell(self, row: Record) -> str:
        """Which row a check is about, leaving out what the title already says."""
        parts = [row["database"]] if self.database is None else []
        return ", ".join([*parts, row["workers"], *filter(None, [row["notes"].get("rows")])])


TARGETS: tuple[Target, ...] = (
    Target("me-sqlite-b", "/api/me", "ratio_b", ">=", 1.0, database="sqlite"),
    Target("me-sqlite-c", "/api/me", "ratio_c", ">=", 1.8, database="sqlite"),
    Target("me-sqlite-d", "/api/me", "ratio_d", ">=", 1.1, database="sqlite"),
    Target("me-postgresql-gthread", "/api/me", "ratio_b", ">=", 0.9, database="postgresql",
           worker_class="gthread"),
    Target("me-postgresql-sync", "/api/me", "ratio_b", ">=", 0.8, database="postgresql",
           worker_class="sync"),
    Target("me-table-size", "/api/me", "largest_table", ">=", 0.95),
    Target("refresh-rate-sqlite", "refresh", "ratio_a", ">=", 0.2, database="sqlite"),
    Target("refresh-rate-postgresql", "refresh", "ratio_a", ">=", 0.2, database="postgresql",
           worker_class="gthread"),
    Target("refresh-p99-postgresql", "refresh", "p99_ms", "<", 50, database="postgresql",
           worker_class="gthread"),
    Target("refresh-p99-sqlite", "refresh", "p99_ms", "<", 50, database="sqlite",
           worker_class="gthread"),
    Target("refresh-max", "refresh", "max_ms", "<=", 100),
    Target("login-overhead", "login", "overhead_ms", "<", 3),
)


def markdown(targets: Sequence[Target] = TARGETS) -> str:
    """The targets as a Markdown table: name, what must hold, the figure it is read from."""
    lines = ["| target | holds when | figure |", "|---|---|---|"]
    lines += [f"| `{target.name}` | {target.title} | {FIGURES[target.figure].meaning} |"
              for target in targets]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
