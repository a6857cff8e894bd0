"""The benchmark suite: ``python -m bench.run`` (``make bench``); ``--help`` tells the method.

Options and preflight in bench/cli.py; the order of a run in bench/scenarios.py, each
scenario in its own module; the targets in bench/targets.py, their checks in
bench/checks.py; output in bench/report.py.
"""

import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import report, rows, scenarios, servers
from bench.checks import Check, evaluate
from bench.cli import parse_args, preflight
from bench.harness import Bench
from bench.machine import busy_fraction, code_fingerprint, machine_info


def _terminate(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds through every finally: servers, databases, files


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    preflight(options)
    # Ctrl-C must unwind even where a shell started us with SIGINT ignored (background jobs).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    info = machine_info()
    busy = busy_fraction()
    info["busy_before_pct"] = rows.rounded(busy * 100, 1)
    print(f"authapp bench: {info['nproc']} CPUs ({info['cpu']}), Python {info['python']}; "
          f"{options.runs}×{options.duration:g} s per scenario after {options.warmup:g} s "
          f"warm-up, wrk -c{options.connections}, gthread ×{options.threads}; code at "
          f"{info['git_commit']}" + (f" + uncommitted changes ({len(info['git_modified'])} files)"
                                     if info["git_modified"] else ""), flush=True)
    if busy > 0.1:
        print(f"WARNING: the CPUs were {busy:.0%} busy before the bench started; "
              "other load makes the figures noisy.", flush=True)
    if options.client_cpu is not None:
        os.sched_setaffinity(0, {options.client_cpu})  # keep this runner off the server's core
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="authapp-bench-"))
    bench = Bench(options, scratch)
    try:
        scenarios.run(bench)
    except BaseException as exc:
        if bench.rows:
            rows.add_ratios(bench.rows)
            print("\nbench aborted; what was measured so far:\n"
                  + report.render_text(report.table(report.figures(bench))), file=sys.stderr)
        if not isinstance(exc, KeyboardInterrupt | SystemExit):
            for log in bench.logs():
                print(f"last lines of {log.name}:\n"
                      + log.read_text(errors="replace")[-1500:], file=sys.stderr)
        raise
    finally:
        servers.stop_all()
        shutil.rmtree(scratch, ignore_errors=True)
    checks = evaluate(report.figures(bench))
    if code_fingerprint() != info["code_fingerprint"]:
        info["code_changed_during_run"] = True
        checks.append(Check("code-unchanged", "the served code did not change during the run",
                            "FAIL", "authapp/, config.py or wsgi.py changed on disk while "
                            "measuring; servers started later ran other code"))
    print()
    print(report.summary(bench, checks))
    json_path, md_path = report.write_results(bench, checks, info, options.output_dir)
    print(f"\nresults: {json_path} and {md_path} "
          f"(total {time.monotonic() - started:.0f} s)")
    return 1 if options.strict and any(check.status == "FAIL" for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
