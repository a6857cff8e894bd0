"""The seeded databases a run measures on, and the access-token pools that go with them."""

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from bench import data
from bench.harness import Bench
from bench.rows import rows_label

ME_TOKEN_POOL = 1000


@dataclass(frozen=True)
class Prepared:
    """A seeded bench database."""

    database: data.Database
    label: str
    user_ids: list[int]
    tokens: Path
    # Access tokens signed by the database's own key of each further algorithm.
    algorithm_tokens: dict[str, Path]


def postgres_available(url: str) -> bool:
    try:
        with data.postgres_admin_connect(url):
            return True
    except Exception:  # any failure means: not usable here
        return False


def prepare(bench: Bench, stack: contextlib.ExitStack, backend: str, size: int) -> Prepared:
    """A migrated database seeded to ``size`` rows, and access tokens of its sessions.

    ``stack`` drops the database (and disposes of its engine) when the run ends.
    """
    label = rows_label(size)
    if backend == "sqlite":
        directory = bench.scratch / f"sqlite-{label}"
        directory.mkdir()
        database = data.Database("sqlite", f"sqlite:///{directory / 'bench.sqlite3'}")
    else:
        url = stack.enter_context(data.postgres_database(bench.options.postgres_url))
        database = data.Database("postgresql", url)
    bench.say(f"{backend} {label}: migrating ({database.url.split('@')[-1]})")
    data.migrate(database, bench.settings)
    app = data.make_app(database, bench.secret_key, bench.jwt_secret_key, bench.scratch)

    def dispose() -> None:
        with app.app_context():
            data.db.session.remove()
            data.db.engine.dispose()

    stack.callback(dispose)
    with app.app_context():
        user_ids, _login_id = data.seed_users()
        started = time.monotonic()
        data.seed_tables(size, user_ids)
        sizes = data.table_sizes()
        bench.say(f"{backend} {label}: seeded in {time.monotonic() - started:.1f} s: "
                  f"{sizes['sessions']:,} sessions, {sizes['revoked_tokens']:,} revoked tokens")
        tokens = data.access_token_pool(ME_TOKEN_POOL)
    token_path = data.write_tokens(bench.scratch / f"me-{backend}-{label}.tokens", tokens)
    algorithm_tokens = {}
    for algorithm in bench.options.algorithms:
        if algorithm != "HS256":
            signer = data.make_app(database, bench.secret_key, bench.jwt_secret_key,
                                   bench.scratch, algorithm)
            with signer.app_context():
                algorithm_tokens[algorithm] = data.write_tokens(
                    bench.scratch / f"me-{backend}-{label}-{algorithm}.tokens",
                    data.access_token_pool(ME_TOKEN_POOL))
                data.db.engine.dispose()
    return Prepared(database, label, user_ids, token_path, algorithm_tokens)


def baseline_tokens(bench: Bench) -> Path:
    """Access tokens the baselines accept: signed with the run's key, of no stored session."""
    app = data.make_app(data.Database("sqlite", f"sqlite:///{bench.scratch}/none.db"),
                        bench.secret_key, bench.jwt_secret_key, bench.scratch)
    with app.app_context():
        return data.write_tokens(bench.scratch / "baseline.tokens",
                                 data.detached_access_tokens(ME_TOKEN_POOL))
