"""Liveness with a database check, for load balancers and monitors."""

from flask import Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from authapp.api import bp
from authapp.api.operations import operation
from authapp.api.schemas import HealthAnswer
from authapp.core.extensions import db
from authapp.http.problems import problem


@bp.get("/health")
@operation("Liveness, with a database check", answers={200: HealthAnswer})
def health() -> Response:
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return problem("service_unavailable", "The database is unreachable.",
                       headers={"Retry-After": "5"})
    return jsonify(status="ok", database="ok")
