"""Liveness with a database check, for load balancers and monitors."""

from flask import Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import problem
from ..extensions import db
from . import bp


@bp.get("/health")
def health() -> Response:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return problem("service_unavailable", "The database is unreachable.",
                       headers={"Retry-After": "5"})
    return jsonify(status="ok", database="ok")
