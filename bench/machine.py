"""What a result is worth: the machine, the code measured, and how busy the CPUs were."""

import hashlib
import math
import os
import platform
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from bench.servers import REPO_ROOT


def machine_info() -> dict[str, Any]:
    def command(*args: str) -> str:
        try:
            return subprocess.run(args, capture_output=True, text=True,  # noqa: S603
                                  check=False, timeout=10).stdout.strip()
        except OSError:
            return ""

    lscpu = command("lscpu")
    model = next((line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                  if line.startswith("Model name")), platform.processor())
    return {
        "nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(),
        "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "wrk": " ".join(command("wrk", "-v").split()[:2]) if shutil.which("wrk") else "",
        "git_commit": command("git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"),
        "git_modified": command("git", "-C", str(REPO_ROOT), "status", "--porcelain",
                                "--untracked-files=no").splitlines(),
        "code_fingerprint": code_fingerprint(),
    }


def code_fingerprint() -> str:
    """A hash of the served code as it is on disk (HEAD plus uncommitted changes)."""
    digest = hashlib.sha256()
    for path in sorted([*(REPO_ROOT / "authapp").rglob("*.py"),
                        REPO_ROOT / "config.py", REPO_ROOT / "wsgi.py"]):
        digest.update(str(path.relative_to(REPO_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def busy_fraction(seconds: float = 1.0) -> float:
    """How busy the CPUs were over ``seconds`` before we start anything (0..1)."""
    def sample() -> tuple[int, int]:
        fields = [int(value) for value in Path("/proc/stat").read_text().split()[1:9]]
        idle = fields[3] + fields[4]
        return idle, sum(fields)

    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError):
        return math.nan
    return 1 - (idle1 - idle0) / max(1, total1 - total0)
