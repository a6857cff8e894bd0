"""The Flask baselines the ratios are measured against, served by the same gunicorn setup.

``create_bare_app()`` (A): a bare Flask JSON route, no authentication at all.
``create_jwt_app()`` (B): the same route behind Flask-JWT-Extended's ``@jwt_required()``, no
database, configured from the project's own ``config.Config`` JWT settings and
``AUTHAPP_JWT_SECRET_KEY`` so the project's access tokens validate unchanged.
``create_orm_app()`` (C): B plus the revocation check and user loading as the
Flask-JWT-Extended docs show them, ORM queries through Flask-SQLAlchemy on the bench
database (``AUTHAPP_SQLALCHEMY_DATABASE_URI``) with the project's models.

gunicorn calls the factories (``bench.baseline_app:create_jwt_app()``).  They all
answer ``GET /api/me`` with a body shaped like the project's, so one wrk
script drives every server, and ``GET /api/health`` for the readiness probe.
Baseline D, Express and jsonwebtoken, is bench/node/server.js.
"""

import os
from typing import Any

from flask import Flask, Response, jsonify
from flask_jwt_extended import JWTManager, current_user, get_jwt_identity, jwt_required

from authapp.core.configuration import database_uri
from authapp.core.extensions import db
from authapp.db import sqlite  # noqa: F401  (the project's connection pragmas, for C too)
from authapp.db.models import RevokedToken, User
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


def _jwt_app(name: str) -> tuple[Flask, JWTManager]:
    app = Flask(name)
    app.config.update(_jwt_settings())
    if not app.config["JWT_SECRET_KEY"]:
        raise RuntimeError("AUTHAPP_JWT_SECRET_KEY must be set for the JWT baselines")
    return app, JWTManager(app)


def create_jwt_app() -> Flask:
    app, _jwt = _jwt_app("bench_jwt")

    @app.get("/api/me")
    @jwt_required()
    def me() -> Response:
        return jsonify(id=int(get_jwt_identity()), username="bench", created_at=CREATED_AT)

    app.add_url_rule("/api/health", view_func=_health)
    return app


def create_orm_app() -> Flask:
    """Baseline C: the docs' ``token_in_blocklist_loader`` and ``user_lookup_loader``.

    It reuses the project's ``db`` and models (so its engine gets the project's SQLite
    connection pragmas too) but none of its code paths, and Flask-SQLAlchemy's default
    engine options: without ``pool_pre_ping`` it saves a round trip per request.
    """
    app, jwt = _jwt_app("bench_orm")
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("AUTHAPP_SQLALCHEMY_DATABASE_URI")
    if not app.config["SQLALCHEMY_DATABASE_URI"]:
        raise RuntimeError("AUTHAPP_SQLALCHEMY_DATABASE_URI must be set for the ORM baseline")
    app.config["SQLALCHEMY_DATABASE_URI"] = database_uri(app)  # postgresql:// on psycopg 3
    db.init_app(app)

    @jwt.token_in_blocklist_loader
    def check_if_token_revoked(_jwt_header: dict, jwt_payload: dict) -> bool:
        jti = jwt_payload["jti"]
        return db.session.query(RevokedToken.jti).filter_by(jti=jti).scalar() is not None

    @jwt.user_lookup_loader
    def user_lookup_callback(_jwt_header: dict, jwt_data: dict) -> User | None:
        return db.session.get(User, int(jwt_data["sub"]))

    @app.get("/api/me")
    @jwt_required()
    def me() -> Response:
        return jsonify(id=current_user.id, username=current_user.username,
                       created_at=current_user.created_at.isoformat())

    app.add_url_rule("/api/health", view_func=_health)
    return app
