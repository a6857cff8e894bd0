"""Hot statements on the direct path are declared once and cached under the declaration."""

import uuid

import pytest
from sqlalchemy import bindparam, literal, literal_column, select

from authapp.db import direct


def declared(value: str) -> direct.HotStatement:
    return direct.hot_statement(f"test_{uuid.uuid4().hex[:8]}",
                                select(literal_column(f"'{value}'").label("v"),
                                       bindparam("p").label("p")))


def test_a_name_can_be_declared_only_once():
    hot = declared("a")
    with pytest.raises(ValueError, match="declared twice"):
        direct.hot_statement(hot.name, hot.statement)


def test_each_declaration_keeps_its_own_compiled_form(app):
    """Statements built and dropped one after another (as a per-call statement would be)
    never share a cache entry: the cache holds the declaration itself."""
    with app.app_context():
        for index in range(50):
            assert direct.fetch_one(declared(f"value {index}"), p="x") == (f"value {index}", "x")


def test_only_declared_statements_run_on_the_direct_path(app):
    with app.app_context(), pytest.raises(AttributeError):
        direct.fetch_one(select(literal(1)), p="x")  # type: ignore[arg-type]
