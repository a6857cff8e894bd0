"""Server-rendered pages through the test client: sign-in cookies, renewal, CSRF, redirects."""

import re

import pytest
from support.api import PASSWORD
from support.clock import later
from support.pages import csrf_token, page_login, page_register

from authapp.web.signin import safe_next


def test_register_form_signs_in_and_sets_both_token_cookies(client):
    response = page_register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/account"
    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert "HttpOnly" in cookies["access_token_cookie"]
    assert "HttpOnly" in cookies["refresh_token_cookie"]
    assert "SameSite=Lax" in cookies["refresh_token_cookie"]
    assert client.get("/account").status_code == 200


def test_form_post_without_csrf_token_is_refused_and_changes_nothing(client, auth):
    response = client.post("/register", data={
        "username": "mallory", "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 403
    assert b"This form has expired" in response.data
    assert client.post("/api/auth/login", json={"username": "mallory",
                                                "password": PASSWORD}).status_code == 401


def test_account_redirects_to_login_with_next_when_signed_out(client):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/account"


def test_login_honours_a_same_site_next(client, auth):
    auth.register()
    response = page_login(client, next_="/account/password")
    assert response.headers["Location"] == "/account/password"


@pytest.mark.parametrize("target", [
    "//evil.example", "https://evil.example", "/\\evil.example", "/%2F%2Fevil.example",
    "/%252F%252Fevil.example", "/%5Cevil.example", "\\\\evil.example", "javascript:alert(1)",
    "/\t/evil.example", "", "evil.example",
])
def test_next_never_leaves_the_site(target):
    assert safe_next(target, "/account") == "/account"


@pytest.mark.parametrize("target", ["/account", "/account/password?tab=1", "/app"])
def test_next_accepts_local_paths(target):
    assert safe_next(target, "/account") == target


def test_login_with_foreign_next_lands_on_account(client, auth):
    auth.register()
    response = page_login(client, next_="//evil.example/steal")
    assert response.headers["Location"] == "/account"


def test_wrong_password_on_the_page_gives_one_generic_message(client, auth):
    auth.register()
    wrong = page_login(client, password="not the password at all")
    unknown = page_login(client, username="nobody-here")
    assert wrong.status_code == unknown.status_code == 422
    assert b"The username or password is not correct." in wrong.data
    assert b"The username or password is not correct." in unknown.data


def test_expired_access_cookie_is_renewed_transparently(client):
    page_register(client)
    old_access = client.get_cookie("access_token_cookie").value
    with later(16):
        response = client.get("/account")
        assert response.status_code == 200
        assert b"alice" in response.data
        set_cookies = " ".join(response.headers.getlist("Set-Cookie"))
        assert "access_token_cookie=" in set_cookies and "refresh_token_cookie=" in set_cookies
        assert client.get_cookie("access_token_cookie").value != old_access


def test_replayed_refresh_cookie_on_a_page_revokes_the_session(client, app):
    page_register(client)
    stolen = client.get_cookie("refresh_token_cookie").value
    with later(16):
        assert client.get("/account").status_code == 200  # rotates the refresh cookie
    thief = app.test_client()
    thief.set_cookie("refresh_token_cookie", stolen)
    with later(30):
        assert thief.get("/account").status_code == 302
        # the theft signal revoked the whole session: the victim is signed out too
        assert client.get("/account").status_code == 302


def test_after_logout_old_cookies_renew_nothing(client, app):
    page_register(client)
    saved = {name: client.get_cookie(name).value
             for name in ("access_token_cookie", "refresh_token_cookie")}
    token = csrf_token(client, "/account")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    replay = app.test_client()
    for name, value in saved.items():
        replay.set_cookie(name, value)
    for moment in (0, 16):
        with later(moment):
            response = replay.get("/account")
            assert response.status_code == 302
            assert not any("token_cookie=ey" in c for c in response.headers.getlist("Set-Cookie"))


def test_get_logout_is_not_allowed(client):
    assert client.get("/logout").status_code == 405


def test_trace_is_not_allowed(client):
    assert client.open("/", method="TRACE").status_code == 405


def test_revoking_another_session_from_the_account_page(client, app, auth):
    page_register(client)
    other = app.test_client()
    page_login(other)
    assert other.get("/account").status_code == 200
    page = client.get("/account").data.decode()
    ids = re.findall(r'data-session-id="([0-9a-f]+)"', page)
    assert len(ids) == 2
    current = re.search(r'data-session-id="([0-9a-f]+)">\s*<div>\s*<p class="session-device">'
                        r'[^<]*<span class="badge">This device', page).group(1)
    target = next(i for i in ids if i != current)
    response = client.post(f"/account/sessions/{target}/revoke",
                           data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302
    assert other.get("/account").status_code == 302
    assert client.get("/account").status_code == 200


def test_changing_password_on_the_page_signs_out_other_sessions(client, app):
    page_register(client)
    other = app.test_client()
    page_login(other)
    new_password = "a different long passphrase"
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"),
        "current_password": PASSWORD, "new_password": new_password, "confirm": new_password})
    assert response.status_code == 302
    assert other.get("/account").status_code == 302
    assert client.get("/account").status_code == 200


def test_wrong_current_password_on_the_page_is_tied_to_its_field(client):
    page_register(client)
    new_password = "a different long passphrase"
    response = client.post("/account/password", data={
        "csrf_token": csrf_token(client, "/account/password"),
        "current_password": "not my password", "new_password": new_password,
        "confirm": new_password})
    assert response.status_code == 422
    page = response.data.decode()
    assert 'aria-describedby="current_password-error"' in page
    assert 'id="current_password-error"' in page


@pytest.mark.parametrize("path", ["/", "/login", "/api/health", "/static/style.css", "/nope"])
def test_security_headers_on_every_response(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in headers  # only in production


def test_pages_have_no_inline_script_or_style(client):
    page_register(client)
    for path in ("/", "/login", "/register", "/account", "/account/password", "/app"):
        html = client.get(path).data.decode()
        assert "<script>" not in html and " style=" not in html and "<style" not in html
        assert not re.search(r"\son[a-z]+=", html), path
