"""`make run PORT=... HOST=...` serves where it is told, and the README's examples hold.

One ``make run`` per module on a free port and a scratch SQLite file; the whole process
group (make, the shell, Flask's server) is stopped by its id afterwards.
"""

import contextlib
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.live_server import free_port, request

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 60.0
STATUS_IN_COMMENT = re.compile(r"\b[1-5]\d\d\b")


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``make run PORT=<free> HOST=127.0.0.1``; yields its base URL."""
    scratch = tmp_path_factory.mktemp("make-run")
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("AUTHAPP_") and key != "DATABASE_URL"}
    env.update({"AUTHAPP_SQLALCHEMY_DATABASE_URI": f"sqlite:///{scratch / 'run.sqlite3'}",
                "AUTHAPP_SECRET_KEY": secrets.token_urlsafe(48),  # keep instance/ untouched
                "AUTHAPP_JWT_SECRET_KEY": secrets.token_urlsafe(48)})
    log_path = scratch / "make-run.log"
    with open(log_path, "wb") as log:
        # -o: the venv is already installed; this is about serving, not installing.
        process = subprocess.Popen(
            ["make", "-o", ".venv/.installed", "run", f"PORT={port}", "HOST=127.0.0.1"],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(process, base_url, log_path)
        yield base_url
    finally:
        _stop_group(process)


def _wait_until_serving(process: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"make run exited with {process.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(OSError):
            if request(base_url, "GET", "/api/health", timeout=2).status == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"make run did not serve {base_url} within {STARTUP_TIMEOUT} s:\n"
                f"{log_path.read_text()}")


def _stop_group(process: subprocess.Popen) -> None:
    """SIGTERM the group led by ``process``, SIGKILL what is left; never leaves one behind."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=10)


def readme_examples() -> str:
    """The shell blocks of the README's Examples section, in order."""
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("\n## Examples\n", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```sh\n(.*?)```", section, flags=re.S))


def promised_statuses(script: str) -> list[int]:
    """Every status the comments promise, in order ("log in again (200), then 204")."""
    return [int(code) for line in script.splitlines() if line.startswith("# ")
            for code in STATUS_IN_COMMENT.findall(line)]


def test_make_run_serves_on_the_port_and_host_it_is_given(make_run):
    answer = request(make_run, "GET", "/api/health")

    assert answer.status == 200
    assert answer.json["status"] == "ok"


def test_the_readme_examples_print_every_promised_status_twice_over(make_run, tmp_path):
    script = readme_examples().replace("http://127.0.0.1:5000", make_run)
    promised = promised_statuses(script)
    assert len(promised) >= 15, promised

    for run in (1, 2):  # the second run must not trip over the first one's user
        done = subprocess.run(["bash", "-e", "-u", "-o", "pipefail", "-c", script],
                              cwd=tmp_path, capture_output=True, text=True, timeout=120)
        printed = [int(line) for line in done.stderr.splitlines() if re.fullmatch(r"\d{3}", line)]
        assert done.returncode == 0, f"run {run}:\n{done.stderr}"
        assert printed == promised, f"run {run}:\n{done.stderr}"


def test_the_json_helper_fails_with_a_readable_message(tmp_path):
    helper = readme_examples().split("\n# Register", 1)[0]

    done = subprocess.run(["bash", "-c", helper + '\necho \'{"code": "nope"}\' | json_get x'],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30)

    assert done.returncode == 1
    assert "json_get: no 'x' in this answer" in done.stderr
    assert "Traceback" not in done.stderr
