"""Where a request's time goes, in-process: ``python -m bench.hotpath me|refresh|login``.

The WSGI app is called directly (no gunicorn, no sockets) on a seeded bench
database, so the figures are the app's own cost per request:

  me       CPU µs per GET /api/me for A, B and authapp, then authapp's profile
  refresh  CPU and wall µs per bearer-mode rotation, then its profile
  login    the time inside the request that is not bcrypt, with the real
           cost-12 check and with the check skipped (a warm path), then a profile

Profiles use pyinstrument when it is installed (``pip install pyinstrument``),
else cProfile.  Nothing here is part of ``make bench``'s table.
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder

from bench import data
from bench.cli import DEFAULT_POSTGRES_URL

SECRET_KEY = "bench-profile-secret-key-0123456789abcdef"  # noqa: S105  (throwaway database)
JWT_SECRET_KEY = "bench-profile-jwt-secret-key-0123456789abcdef"  # noqa: S105


def call(app: Callable[..., Any], environ: dict[str, Any]) -> str:
    """One request straight through the WSGI callable; returns the status line."""
    statuses: list[str] = []
    body = app(environ, lambda status, _headers, _exc=None: statuses.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return statuses[0]


def cpu_per_request(run: Callable[[], None], requests: int) -> tuple[float, float]:
    """(CPU µs, wall µs) per call of ``run``, best of five rounds."""
    rounds = []
    for _ in range(5):
        cpu, wall = time.thread_time(), time.perf_counter()
        for _ in range(requests):
            run()
        rounds.append(((time.thread_time() - cpu) / requests * 1e6,
                       (time.perf_counter() - wall) / requests * 1e6))
    return min(rounds)


def profile(run: Callable[[], None], requests: int, limit: float) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            run()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)
        return
    profiler = Profiler(interval=0.0001)
    profiler.start()
    for _ in range(requests):
        run()
    profiler.stop()
    text = profiler.output_text(unicode=True, color=False, show_all=True)
    total = profiler.last_session.duration if profiler.last_session else 0
    for line in text.splitlines():  # only frames above ``limit`` of the total
        numbers = [word for word in line.split() if word.replace(".", "", 1).isdigit()]
        if numbers and total and float(numbers[0]) / total >= limit:
            print(line)


@contextlib.contextmanager
def database(backend: str, postgres_url: str, scratch: Path) -> Iterator[data.Database]:
    if backend == "sqlite":
        yield data.Database("sqlite", f"sqlite:///{scratch / 'profile.sqlite3'}")
    else:
        with data.postgres_database(postgres_url) as url:
            yield data.Database("postgresql", url)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=["me", "refresh", "login"])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1000, help="seeded table sizes (1000)")
    parser.add_argument("--limit", type=float, default=0.02,
                        help="hide profile frames under this share of the total (0.02)")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "AUTHAPP_BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    options = parser.parse_args(argv)
    os.environ["AUTHAPP_JWT_SECRET_KEY"] = JWT_SECRET_KEY  # for the baseline B app
    with tempfile.TemporaryDirectory(prefix="authapp-profile-") as scratch_dir, \
            database(options.database, options.postgres_url, Path(scratch_dir)) as db:
        scratch = Path(scratch_dir)
        data.migrate(db, data.server_settings(SECRET_KEY, JWT_SECRET_KEY))
        app = data.make_app(db, SECRET_KEY, JWT_SECRET_KEY, scratch)
        try:
            with app.app_context():
                user_ids, _ = data.seed_users()
                data.seed_tables(options.rows, user_ids)
            {"me": profile_me, "refresh": profile_refresh, "login": profile_login}[
                options.scenario](app, user_ids, options)
        finally:
            with app.app_context():
                data.db.session.remove()
                data.db.engine.dispose()


def profile_me(app: Any, _user_ids: list[int], options: argparse.Namespace) -> None:
    from bench.baseline_app import create_bare_app, create_jwt_app

    with app.app_context():
        token = data.access_token_pool(1)[0]
    environ = EnvironBuilder(path="/api/me",
                             headers={"Authorization": f"Bearer {token}"}).get_environ()
    for name, wsgi in (("A bare Flask", create_bare_app()), ("B @jwt_required", create_jwt_app()),
                       (f"authapp ({options.database})", app)):
        def run(wsgi: Any = wsgi) -> None:
            call(wsgi, dict(environ))

        assert call(wsgi, dict(environ)).startswith("200")
        for _ in range(300):
            run()
        cpu, wall = cpu_per_request(run, options.requests)
        print(f"{name:<24} {cpu:8.1f} µs CPU  {wall:8.1f} µs wall per request")
    print()
    profile(lambda: call(app, dict(environ)), options.requests, options.limit)


def profile_refresh(app: Any, user_ids: list[int], options: argparse.Namespace) -> None:
    requests = min(options.requests, 1500)
    with app.app_context():
        tokens = data.refresh_token_pool(7 * requests + 200, user_ids)
    environs = iter([EnvironBuilder(path="/api/auth/refresh", method="POST",
                                    headers={"Authorization": f"Bearer {token}"}).get_environ()
                     for token in tokens])

    def run() -> None:
        status = call(app, next(environs))
        if not status.startswith("200"):
            raise RuntimeError(f"refresh answered {status}")

    for _ in range(200):
        run()
    cpu, wall = cpu_per_request(run, requests)
    print(f"refresh ({options.database}): {cpu:.0f} µs CPU, {wall:.0f} µs wall per request\n")
    profile(run, requests, options.limit)


def profile_login(app: Any, _user_ids: list[int], options: argparse.Namespace) -> None:
    import flask_bcrypt

    body = json.dumps({"username": data.LOGIN_USERNAME, "password": data.LOGIN_PASSWORD,
                       "refresh_in_body": True})
    real_check = flask_bcrypt.Bcrypt.check_password_hash
    in_bcrypt: list[float] = []

    def timed_check(self: Any, pw_hash: Any, password: Any) -> bool:
        started = time.perf_counter()
        try:
            return real_check(self, pw_hash, password)
        finally:
            in_bcrypt.append((time.perf_counter() - started) * 1000)

    def run() -> float:
        environ = EnvironBuilder(path="/api/auth/login", method="POST", data=body,
                                 content_type="application/json").get_environ()
        started = time.perf_counter()
        status = call(app, environ)
        if not status.startswith("200"):
            raise RuntimeError(f"login answered {status}")
        return (time.perf_counter() - started) * 1000

    flask_bcrypt.Bcrypt.check_password_hash = timed_check  # type: ignore[method-assign]
    try:
        totals = [run() for _ in range(23)][3:]
        rest = [total - check for total, check in zip(totals, in_bcrypt[3:], strict=True)]
        print(f"login ({options.database}), real bcrypt: {statistics.median(totals):.1f} ms, "
              f"of which bcrypt {statistics.median(in_bcrypt[3:]):.1f} ms; the rest "
              f"{statistics.median(rest):.2f} ms (median of {len(rest)})")
        flask_bcrypt.Bcrypt.check_password_hash = (  # type: ignore[method-assign]
            lambda _self, _hash, _password: True)
        warm = [run() for _ in range(300)][50:]
        print(f"login with the bcrypt check skipped (the warm path): "
              f"{statistics.median(warm):.2f} ms (median of {len(warm)})\n")
        profile(run, min(options.requests, 500), options.limit)
    finally:
        flask_bcrypt.Bcrypt.check_password_hash = real_check  # type: ignore[method-assign]


if __name__ == "__main__":
    sys.exit(main())
