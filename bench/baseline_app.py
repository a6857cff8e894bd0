"""The two baselines every ratio is measured against, served by the same gunicorn setup.

``create_bare_app()`` (A): a bare Flask JSON route, no authentication at all.
``create_jwt_app()`` (B): the same route behind Flask-JWT-Extended's ``@jwt_required()``, no
database, configured from the project's own ``config.Config`` JWT settings and
``AUTHAPP_JWT_SECRET_KEY`` so the project's access tokens validate unchanged.

gunicorn calls the factories (``bench.baseline_app:create_jwt_app()``).  Both
answer ``GET /api/me`` with a body shaped like the project's, so one wrk
script drives all three servers, and ``GET /api/health`` for the readiness probe.
"""

import os
from typing import Any

from flask import Flask, Response, jsonify
from flask_jwt_extended import JWTManager, get_jwt_identity, jwt_required

from config import Config

CREATED_AT = "2025-01-01T00:00:00+00:00"


def _jwt_settings() -> dict[str, Any]:
    """Every ``JWT_*`` setting of the project, plus its signing secret."""
    settings = {key: getattr(Config, key) for key in dir(Config) if key.startswith("JWT_")}
    settings["JWT_SECRET_KEY"] = os.environ.get("AUTHAPP_JWT_SECRET_KEY", "")
    return settings


def _health() -> Response:
    return jsonify(status="ok")


def create_bare_app() -> Flask:
    app = Flask("bench_bare")

    @app.get("/api/me")
    def me() -> Response:
        return jsonify(id=1, username="bench", created_at=CREATED_AT)

    app.add_url_rule("/api/health", view_func=_health)
    return app


def create_jwt_app() -> Flask:
    app = Flask("bench_jwt")
    app.config.update(_jwt_settings())
    if not app.config["JWT_SECRET_KEY"]:
        raise RuntimeError("AUTHAPP_JWT_SECRET_KEY must be set for the JWT baseline")
    JWTManager(app)

    @app.get("/api/me")
    @jwt_required()
    def me() -> Response:
        return jsonify(id=int(get_jwt_identity()), username="bench", created_at=CREATED_AT)

    app.add_url_rule("/api/health", view_func=_health)
    return app

