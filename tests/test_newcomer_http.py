"""What a newcomer and an attack run found at the HTTP level: header truth, caching, limits."""

import re
import secrets

from flask import Flask
from flask.testing import FlaskClient
from support.api import PASSWORD

from authapp import create_app

CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


def page_sign_in(client: FlaskClient, auth, username: str = "alice") -> None:
    """Register through the API, then sign in through the /login form (page cookies)."""
    auth.register(username)
    token = CSRF_FIELD.search(client.get("/login").data).group(1).decode()
    answer = client.post("/login", data={"csrf_token": token, "username": username,
                                         "password": PASSWORD})
    assert answer.status_code == 302, answer.data


def header_of(page: bytes) -> bytes:
    return page.split(b"<header", 1)[1].split(b"</header>", 1)[0]


# -- the header tells the truth, the 404 page speaks our words ---------------------------------


def test_not_found_page_shows_who_is_signed_in(client, auth):
    page_sign_in(client, auth)

    response = client.get("/no-such-page")

    assert response.status_code == 404
    header = header_of(response.data)
    assert b">alice</a>" in header
    assert b"Sign out" in header
    assert b"Sign in" not in header


def test_not_found_page_speaks_our_words_not_werkzeugs(client):
    response = client.get("/no-such-page")

    assert response.status_code == 404
    assert b"Page not found" in response.data
    assert b"There is nothing at this address" in response.data
    assert b"If you entered the URL manually" not in response.data
    assert b"Sign in" in header_of(response.data)


def test_api_not_found_speaks_our_words_too(client):
    response = client.get("/api/no-such-thing")

    assert response.status_code == 404
    assert response.json["detail"].startswith("There is nothing at this address")


# -- caching and methods ------------------------------------------------------------------------


def test_pages_with_personal_data_are_never_stored(client, auth):
    page_sign_in(client, auth)
    for path in ("/account", "/account/password", "/app", "/", "/no-such-page"):
        response = client.get(path)
        assert response.headers.get("Cache-Control") == "no-store", path
        assert len(response.headers.getlist("Cache-Control")) == 1, path


def test_forms_and_redirects_are_never_stored(client):
    for path in ("/login", "/register", "/account"):
        assert client.get(path).headers.get("Cache-Control") == "no-store", path


def test_static_files_stay_cacheable(client):
    response = client.get("/static/style.css")

    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")


def test_page_405_names_the_allowed_methods(client):
    response = client.get("/logout")

    assert response.status_code == 405
    assert response.mimetype == "text/html"
    allowed = set(response.headers["Allow"].split(", "))
    assert "POST" in allowed and "GET" not in allowed


def test_account_page_405_names_get(client):
    response = client.delete("/account")

    assert response.status_code == 405
    assert "GET" in response.headers["Allow"].split(", ")


# -- request target and header limits -----------------------------------------------------------


def test_over_long_session_id_in_the_path_is_414_problem_json(client, auth):
    signed_in = auth.signed_in()

    response = client.delete("/api/sessions/" + "a" * 5000, headers=signed_in.headers)

    assert response.status_code == 414
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "uri_too_long"


def test_over_long_page_path_is_a_414_page(client):
    response = client.get("/" + "x" * 5000)

    assert response.status_code == 414
    assert response.mimetype == "text/html"


def test_a_100_kb_token_is_431_problem_json_not_a_token_check(client):
    response = client.get("/api/me", headers={"Authorization": "Bearer " + "a" * 100_000})

    assert response.status_code == 431
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "request_header_fields_too_large"


def test_an_oversized_cookie_is_refused_before_any_token_is_read(app):
    client = app.test_client(use_cookies=False)  # send the Cookie header exactly as given

    response = client.post("/api/auth/refresh",
                           headers={"Cookie": "refresh_token_cookie=" + "x" * 9000})

    assert response.status_code == 431
    assert response.json["code"] == "request_header_fields_too_large"


def test_ordinary_requests_pass_the_limits(client, auth):
    signed_in = auth.signed_in()
    headers = {**signed_in.headers, "User-Agent": "u" * 1000}

    assert client.get("/api/me?" + "q=1&" * 500, headers=headers).status_code == 200


# -- production cookie names ----------------------------------------------------------------


def test_production_csrf_cookies_carry_the_host_prefix(app: Flask, database_url: str):
    prod = create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": database_url,
                       "MAIL_WORKER_ENABLED": False,  # the shared test database's outbox
                       "SECRET_KEY": secrets.token_urlsafe(48),
                       "JWT_SECRET_KEY": secrets.token_urlsafe(48)})
    client = prod.test_client()
    assert client.post("/api/auth/register", json={"username": "prod", "password": PASSWORD}
                       ).status_code == 201

    response = client.post("/api/auth/login", json={"username": "prod", "password": PASSWORD})

    cookies = {h.split("=", 1)[0]: h for h in response.headers.getlist("Set-Cookie")}
    csrf = cookies["__Host-csrf_refresh_token"]
    assert "Secure" in csrf and "Path=/" in csrf and "Domain" not in csrf
    assert "HttpOnly" not in csrf  # the JavaScript client must read it
    assert "csrf_refresh_token" not in cookies
    page = client.get("/app").data
    assert b'data-csrf-cookie="__Host-csrf_refresh_token"' in page
