"""The database connections the serving processes may open, as ``flask auth doctor`` reports."""

from authapp.core.doctor import WARNING, diagnose
from authapp.core.serving import ConnectionBudget, connection_budget


def test_each_thread_counts_one_direct_and_at_most_one_pooled_connection():
    budget = connection_budget({}, {"WEB_CONCURRENCY": "3", "AUTHAPP_THREADS": "4"})
    assert (budget.workers, budget.threads, budget.pool_limit) == (3, 4, 15)
    assert budget.total == 3 * (4 + 4)


def test_a_small_pool_caps_the_pooled_share():
    config = {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 1}}
    budget = connection_budget(config, {"WEB_CONCURRENCY": "2", "AUTHAPP_THREADS": "8"})
    assert budget.per_worker == 2 + 8 and budget.total == 20


def test_the_doctor_warns_when_the_budget_exceeds_the_servers_limit():
    over = [f for f in diagnose({}, budget=ConnectionBudget(30, 4, 15), max_connections=100)
            if f.setting == "SQLALCHEMY_ENGINE_OPTIONS"]
    assert [f.severity for f in over] == [WARNING]
    assert "240" in over[0].message and "100" in over[0].message
    within = diagnose({}, budget=ConnectionBudget(5, 4, 15), max_connections=100)
    assert not [f for f in within if f.setting == "SQLALCHEMY_ENGINE_OPTIONS"]


def test_the_cli_reads_the_servers_limit_on_postgresql(app, runner, monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    monkeypatch.setenv("AUTHAPP_THREADS", "3")
    result = runner.invoke(args=["auth", "doctor"])
    on_postgresql = app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
    assert ("Connections: 2 workers x 6 (3 threads, pooled + direct) = up to 12 of the "
            "server's" in result.output) == on_postgresql
    monkeypatch.setenv("WEB_CONCURRENCY", "500")
    crowded = runner.invoke(args=["auth", "doctor"])
    assert ("WARNING  SQLALCHEMY_ENGINE_OPTIONS" in crowded.output) == on_postgresql
