"""authapp: JWT access tokens and rotating refresh tokens for a Flask monolith."""

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from authapp.core.configuration import load_config
from authapp.core.logs import configure_logging
from authapp.http.body_limit import BodySizeLimit, check_body_size
from authapp.http.cross_site import refuse_cross_site_requests, register_cors
from authapp.http.headers import register_security_headers
from authapp.http.ratelimits import register_rate_limits
from authapp.http.request_limits import check_request_limits
from authapp.mail.worker import register_mail_worker


def create_app(config_overrides: Mapping[str, Any] | None = None,
               instance_path: str | None = None) -> Flask:
    """Build the application: configuration, then each ``register_*`` step."""
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    load_config(app, config_overrides)
    configure_logging(app)
    register_request_guards(app)  # before the CSRF token checks the extensions add
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_security_headers(app)
    register_commands(app)
    register_mail_worker(app)
    return app


def register_request_guards(app: Flask) -> None:
    """Checks every request passes before anything reads its body or cookies.

    They run in one ``before_request`` hook rather than one each: Flask asks of every
    hook on every request whether it is a coroutine.
    """
    from authapp.tokens.keys import prepare_key_set

    app.wsgi_app = BodySizeLimit(app.wsgi_app,  # type: ignore[method-assign]
                                 app.config["MAX_CONTENT_LENGTH"])

    def guard_request() -> Response | None:
        check_request_limits()
        check_body_size()
        prepare_key_set()  # signing keys load outside any request transaction
        return refuse_cross_site_requests()

    app.before_request(guard_request)
    register_cors(app)


def register_extensions(app: Flask) -> None:
    """Bind the extension objects to this app."""
    from authapp.core.extensions import bcrypt, csrf, db, jwt, migrate
    from authapp.db import sqlite  # noqa: F401  (connection pragmas)
    from authapp.tokens.extension import register_jwt_callbacks

    db.init_app(app)
    migrate.init_app(app, db)
    jwt.init_app(app)
    register_jwt_callbacks(jwt)
    bcrypt.init_app(app)
    csrf.init_app(app)
    trusted_proxies = app.config["TRUSTED_PROXY_COUNT"]
    if trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app,  # type: ignore[method-assign]
                                x_for=trusted_proxies, x_proto=trusted_proxies)


def register_blueprints(app: Flask) -> None:
    """Mount the JSON API, the JWKS and the pages."""
    from authapp.api import bp as api_bp
    from authapp.api.jwks import bp as well_known_bp
    from authapp.core.extensions import csrf
    from authapp.web import bp as web_bp

    csrf.exempt(api_bp)  # API cookie requests use Flask-JWT-Extended's X-CSRF-TOKEN check
    app.register_blueprint(api_bp)
    app.register_blueprint(well_known_bp)
    app.register_blueprint(web_bp)
    register_rate_limits(app)


def register_errorhandlers(app: Flask) -> None:
    """problem+json on the API, HTML elsewhere; after the JWT extension's own."""
    from authapp.http.problems import register_errorhandlers as register

    register(app)


def register_commands(app: Flask) -> None:
    """``flask users ...``, ``flask tokens ...``, ``flask auth ...``."""
    from authapp.cli import register_commands as register

    register(app)
