"""Cross-site defences: Fetch Metadata and Origin checks, and opt-in CORS (SPEC §4, §6).

Browsers mark where a request comes from (``Sec-Fetch-Site``, ``Origin``). A
state-changing request that rides on cookies and comes from another site is
refused with 403 ``csrf_failed`` before anything changes; Bearer requests and
clients that send neither header (curl) are judged by the token checks alone.
Every test runs on SQLite and PostgreSQL.
"""

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from support.api import PASSWORD, AuthActions, login, register
from support.apps import delete_all_rows, make_config
from support.pages import csrf_token, page_login, page_register
from support.problems import assert_problem

from authapp import create_app
from authapp.core.extensions import db
from authapp.db.models import AuthEvent, Session

OWN_ORIGIN = "http://localhost"
EVIL = "https://evil.example"
FRONTEND = "https://app.example"
CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": EVIL}
ACAO = "Access-Control-Allow-Origin"
ACAC = "Access-Control-Allow-Credentials"


# --- helpers ------------------------------------------------------------------------------------


def csrf_header(client: FlaskClient) -> dict[str, str]:
    return {"X-CSRF-TOKEN": client.get_cookie("csrf_refresh_token").value}


def cookie_login(client: FlaskClient, **kwargs) -> None:
    response = login(client, **kwargs)
    assert response.status_code == 200, response.json


def count(app: Flask, event_type: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuthEvent)
                                 .where(AuthEvent.event_type == event_type))


def live_sessions(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Session)
                                 .where(Session.revoked_at.is_(None)))


def set_cookie_headers(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}


def assert_csrf_failed(response) -> None:
    assert_problem(response, 403, "csrf_failed")
    assert not any("token_cookie=ey" in c for c in response.headers.getlist("Set-Cookie"))


@pytest.fixture
def cors_app(database_url: str) -> Iterator[Flask]:
    """An app that lets the frontend at ``FRONTEND`` use the API with cookies."""
    app = create_app(make_config(database_url, CORS_ORIGINS=[FRONTEND]))
    yield app
    delete_all_rows(app)


# --- cookie-mode refresh ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": EVIL},
    {"Sec-Fetch-Site": "same-site", "Origin": "https://other.localhost"},
    {"Origin": EVIL},
    {"Origin": "null"},
    {"Origin": "http://localhost.evil.example"},
    {"Sec-Fetch-Site": "same-origin", "Origin": EVIL},
], ids=["fetch-cross-site", "fetch-and-origin", "same-site", "origin-only", "origin-null",
        "origin-lookalike", "lying-fetch-site"])
def test_cross_site_cookie_refresh_is_refused_and_rotates_nothing(app, client, auth, headers):
    auth.register()
    auth.login(bearer=False)
    before = client.get_cookie("refresh_token_cookie").value

    response = client.post("/api/auth/refresh", headers={**csrf_header(client), **headers})
    assert_csrf_failed(response)
    assert count(app, "refresh") == 0
    assert client.get_cookie("refresh_token_cookie").value == before

    # the cookie is still current: a same-origin refresh rotates it (no grace answer)
    response = client.post("/api/auth/refresh", headers={
        **csrf_header(client), "Sec-Fetch-Site": "same-origin", "Origin": OWN_ORIGIN})
    assert response.status_code == 200, response.json
    assert "refresh_token_cookie" in set_cookie_headers(response)
    assert client.get_cookie("refresh_token_cookie").value != before
    assert count(app, "refresh") == 1


@pytest.mark.parametrize("headers", [
    {"Sec-Fetch-Site": "same-origin", "Origin": OWN_ORIGIN},
    {"Sec-Fetch-Site": "same-origin"},
    {"Origin": OWN_ORIGIN},
    {"Sec-Fetch-Site": "none"},
    {},
], ids=["same-origin", "fetch-only", "origin-only", "user-initiated", "curl"])
def test_same_origin_and_headerless_cookie_refresh_succeeds(client, auth, headers):
    auth.register()
    auth.login(bearer=False)
    response = client.post("/api/auth/refresh", headers={**csrf_header(client), **headers})
    assert response.status_code == 200, response.json
    assert response.json["token_type"] == "Bearer"


def test_same_origin_refresh_still_needs_the_csrf_header(client, auth):
    auth.register()
    auth.login(bearer=False)
    response = client.post("/api/auth/refresh",
                           headers={"Sec-Fetch-Site": "same-origin", "Origin": OWN_ORIGIN})
    assert_csrf_failed(response)


@pytest.mark.parametrize("path", ["/api/auth/logout", "/api/auth/logout-all"])
def test_cross_site_cookie_logout_is_refused(app, client, auth, path):
    auth.register()
    auth.login(bearer=False)
    response = client.post(path, headers={**csrf_header(client), **CROSS_SITE})
    assert_csrf_failed(response)
    assert live_sessions(app) == 1


def test_cross_site_login_and_register_are_refused(app, client, auth):
    auth.register()
    response = login(client, headers=CROSS_SITE)
    assert_csrf_failed(response)
    response = register(client, "mallory", headers=CROSS_SITE)
    assert_csrf_failed(response)
    assert live_sessions(app) == 0
    assert count(app, "register") == 1


# --- pages ------------------------------------------------------------------------------------


def test_cross_site_login_form_is_refused_with_an_html_page(app, client, auth):
    auth.register()
    token = csrf_token(client)
    response = client.post("/login", headers={"Sec-Fetch-Site": "cross-site"}, data={
        "csrf_token": token, "username": "alice", "password": PASSWORD, "next": ""})
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "<html" in response.data.decode().lower()
    assert not set_cookie_headers(response).keys() & {"access_token_cookie",
                                                      "refresh_token_cookie"}
    assert client.get("/account").status_code == 302
    assert count(app, "login_succeeded") == 0
    assert live_sessions(app) == 0


def test_cross_site_logout_form_is_refused_and_keeps_the_user_signed_in(app, client):
    page_register(client)
    token = csrf_token(client, "/account")
    response = client.post("/logout", data={"csrf_token": token},
                           headers={"Sec-Fetch-Site": "cross-site", "Origin": EVIL})
    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert client.get("/account").status_code == 200
    assert count(app, "logout") == 0
    assert live_sessions(app) == 1

    # the same form from our own pages works
    response = client.post("/logout", data={"csrf_token": token},
                           headers={"Sec-Fetch-Site": "same-origin", "Origin": OWN_ORIGIN})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_same_origin_login_form_signs_in(client, auth):
    auth.register()
    token = csrf_token(client)
    response = client.post("/login", headers={"Sec-Fetch-Site": "same-origin",
                                              "Origin": OWN_ORIGIN}, data={
        "csrf_token": token, "username": "alice", "password": PASSWORD, "next": ""})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200


# --- Bearer and GET --------------------------------------------------------------------------


def test_bearer_requests_are_not_judged_by_where_they_come_from(app, client, auth):
    signed_in = auth.signed_in(bearer=True)
    response = client.post("/api/auth/refresh",
                           headers={**signed_in.refresh_headers, **CROSS_SITE})
    assert response.status_code == 200, response.json
    access = response.json["access_token"]

    response = client.post("/api/auth/logout",
                           headers={"Authorization": f"Bearer {access}",
                                    "Sec-Fetch-Site": "cross-site"})
    assert response.status_code == 204
    assert live_sessions(app) == 0
    assert client.get("/api/me", headers={"Authorization": f"Bearer {access}"}).status_code == 401


def test_get_requests_are_never_blocked(client, auth):
    signed_in = auth.signed_in(bearer=True)
    for headers in (CROSS_SITE, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"}):
        response = client.get("/api/me", headers={**signed_in.headers, **headers})
        assert response.status_code == 200, response.json
        assert client.get("/api/health", headers=headers).status_code == 200
        assert client.get("/login", headers=headers).status_code == 200

    browser = client.application.test_client()
    page_login(browser)
    response = browser.get("/account", headers={"Sec-Fetch-Site": "cross-site",
                                                "Sec-Fetch-Mode": "navigate"})
    assert response.status_code == 200


# --- CORS ------------------------------------------------------------------------------------


def test_preflight_from_a_listed_origin_is_allowed_with_credentials(cors_app):
    client = cors_app.test_client()
    response = client.options("/api/auth/refresh", headers={
        "Origin": FRONTEND, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-CSRF-TOKEN, Content-Type",
        "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"})
    assert response.status_code in (200, 204)
    assert response.headers[ACAO] == FRONTEND
    assert response.headers[ACAC] == "true"
    allowed = response.headers.get("Access-Control-Allow-Headers", "").lower()
    assert "x-csrf-token" in allowed
    assert "POST" in response.headers.get("Access-Control-Allow-Methods", "")


def test_a_listed_origin_can_sign_in_and_refresh_with_cookies(cors_app):
    client = cors_app.test_client()
    AuthActions(client).register()
    from_frontend = {"Origin": FRONTEND, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors"}

    response = login(client, headers=from_frontend)
    assert response.status_code == 200, response.json
    assert response.headers[ACAO] == FRONTEND
    assert response.headers[ACAC] == "true"
    cookies = set_cookie_headers(response)
    for name in ("refresh_token_cookie", "csrf_refresh_token"):
        assert "SameSite=None" in cookies[name], cookies[name]
        assert "Secure" in cookies[name], cookies[name]
    assert "HttpOnly" in cookies["refresh_token_cookie"]

    before = client.get_cookie("refresh_token_cookie").value
    response = client.post("/api/auth/refresh", headers={**csrf_header(client), **from_frontend})
    assert response.status_code == 200, response.json
    assert response.headers[ACAO] == FRONTEND
    assert response.headers[ACAC] == "true"
    assert client.get_cookie("refresh_token_cookie").value != before

    # the double-submit header is still required from the listed origin
    response = client.post("/api/auth/refresh", headers=from_frontend)
    assert_csrf_failed(response)


def test_an_unlisted_origin_gets_no_cors_and_cannot_change_state(cors_app):
    client = cors_app.test_client()
    auth = AuthActions(client)
    auth.register()
    cookie_login(client)

    preflight = client.options("/api/auth/refresh", headers={
        "Origin": EVIL, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-CSRF-TOKEN"})
    assert ACAO not in preflight.headers
    assert ACAC not in preflight.headers

    response = client.post("/api/auth/refresh", headers={**csrf_header(client), **CROSS_SITE})
    assert_csrf_failed(response)
    assert ACAO not in response.headers
    response = client.post("/api/auth/refresh",
                           headers={**csrf_header(client), "Origin": EVIL})
    assert_csrf_failed(response)

    response = client.get("/api/health", headers={"Origin": EVIL})
    assert response.status_code == 200
    assert ACAO not in response.headers


def test_cors_does_not_open_the_pages_to_the_listed_origin(cors_app):
    client = cors_app.test_client()
    AuthActions(client).register()
    response = client.post("/login", headers={"Origin": FRONTEND, "Sec-Fetch-Site": "cross-site"},
                           data={"csrf_token": csrf_token(client), "username": "alice",
                                 "password": PASSWORD, "next": ""})
    assert ACAO not in response.headers
    assert client.get("/login", headers={"Origin": FRONTEND}).headers.get(ACAO) is None


def test_without_cors_origins_nothing_is_shared_and_cookies_are_lax(client, auth):
    auth.register()
    preflight = client.options("/api/auth/refresh", headers={
        "Origin": FRONTEND, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "X-CSRF-TOKEN"})
    assert ACAO not in preflight.headers

    response = login(client, headers={"Origin": OWN_ORIGIN, "Sec-Fetch-Site": "same-origin"})
    assert response.status_code == 200
    assert ACAO not in response.headers
    cookies = set_cookie_headers(response)
    for name in ("refresh_token_cookie", "csrf_refresh_token"):
        assert "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name], cookies[name]

    responses = [
        client.get("/api/health", headers={"Origin": FRONTEND}),
        client.post("/api/auth/refresh", headers={**csrf_header(client), "Origin": FRONTEND,
                                                  "Sec-Fetch-Site": "cross-site"}),
        login(client, headers={"Origin": FRONTEND}),
    ]
    assert [r.status_code for r in responses] == [200, 403, 403]
    assert all(ACAO not in r.headers for r in responses)
