"""The results table and the targets' verdicts: on the terminal, as Markdown, as JSON."""

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.checks import Check
from bench.harness import Bench

RATIOS = ("ratio_a", "ratio_b", "ratio_c", "ratio_d")
HEADER = ["scenario", "database", "workers", "req/s", "p50 ms", "p99 ms", "×A", "×B", "×C",
          "×D", "spread", "errors"]
FIRST_NUMERIC = 3  # columns from here on are right-aligned


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None or math.isnan(value) else format(value, pattern)


def table(rows: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """The header and one line per row (``Row.figures`` or a saved row alike)."""
    lines = [HEADER]
    for row in rows:
        runs = row["runs"]
        lines.append([
            row["scenario"], row["database"], row["workers"],
            _fmt(row["rps"] if runs else None, ".0f"), _fmt(row["p50_ms"], ".2f"),
            _fmt(row["p99_ms"], ".2f"), *(_fmt(row.get(ratio), ".2f") for ratio in RATIOS),
            _fmt(row["spread_pct"], ".0f") + ("%" if len(runs) > 1 else ""),
            str(row["errors"]) if runs else "—",
        ])
    return lines


def render_text(lines: list[list[str]]) -> str:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for number, line in enumerate(lines):
        cells = [cell.rjust(widths[i]) if i >= FIRST_NUMERIC else cell.ljust(widths[i])
                 for i, cell in enumerate(line)]
        out.append("  ".join(cells).rstrip())
        if number == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(out)


def render_markdown(lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(lines[0]) + " |",
           "|" + "|".join("---:" if i >= FIRST_NUMERIC else "---"
                          for i in range(len(lines[0]))) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out)


def figures(bench: Bench) -> list[dict[str, Any]]:
    """The run's rows in table order, at full precision."""
    return [row.figures() for row in bench.ordered_rows()]


def summary(bench: Bench, checks: Sequence[Check]) -> str:
    """What the terminal shows at the end: the table, the bcrypt probes, the verdicts."""
    parts = [render_text(table(figures(bench)))]
    if bench.bcrypt_ms:
        parts.append(f"bcrypt.checkpw at cost 12, in-process on CPU {bench.options.server_cpu}, "
                     "paired with each sign-in (median per login row): "
                     + ", ".join(f"{value:.1f}" for value in bench.bcrypt_ms) + " ms")
    parts.append("\n".join(check.line() for check in checks))
    return "\n\n".join(parts)


def write_results(bench: Bench, checks: Sequence[Check], info: dict[str, Any],
                  output_dir: Path) -> tuple[Path, Path]:
    """``bench-<UTC stamp>.json`` and ``.md`` in ``output_dir``, copied to ``latest.*``."""
    output_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    options = bench.options
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "options": {key: value for key, value in vars(options).items()
                    if key not in {"postgres_url"}},
        "bcrypt_ms": [round(value, 3) for value in bench.bcrypt_ms],
        "rows": [row.as_dict() for row in bench.ordered_rows()],
        "checks": [vars(check) for check in checks],
    }
    json_path = output_dir / f"bench-{stamp}.json"
    json_path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    modified = info["git_modified"]
    markdown = [
        f"# authapp benchmark, {document['when']}",
        "",
        f"Machine: {info['nproc']} CPUs, {info['cpu']}, Linux {info['kernel']}, "
        f"Python {info['python']}, SQLite {info['sqlite']}, {info['wrk']}; "
        f"commit {info['git_commit']}"
        + (f" with uncommitted changes to {', '.join(line[3:] for line in modified)}"
           if modified else "") + f" (code fingerprint {info['code_fingerprint']}).",
        f"Setup: 1 gunicorn worker (D: 1 node process) on CPU {options.server_cpu}, "
        f"wrk -t1 -c{options.connections} on CPU {options.client_cpu}; "
        f"{options.runs}×{options.duration:g} s after {options.warmup:g} s warm-up; "
        f"gthread with {options.threads} threads. "
        f"CPU busy before start: {info.get('busy_before_pct', '?')}%.",
        "",
        render_markdown(table(figures(bench))),
        "",
        "bcrypt.checkpw at cost 12 in-process, paired with each sign-in (median per login row): "
        + (", ".join(f"{value:.1f}" for value in bench.bcrypt_ms) or "—") + " ms.",
        "",
        "Targets (bench/targets.py):",
        "",
        *[f"- {check.status} {check.target}: {check.detail}" for check in checks],
        "",
    ]
    md_path = output_dir / f"bench-{stamp}.md"
    md_path.write_text("\n".join(markdown))
    shutil.copyfile(json_path, output_dir / "latest.json")
    shutil.copyfile(md_path, output_dir / "latest.md")
    return json_path, md_path
