"""The /admin pages, the "confirm it's you" step and the leaving pages (SPEC §9, §13).

Each test runs on SQLite and on PostgreSQL.
"""

import pytest
from support.api import PASSWORD, login, me
from support.clock import later
from support.pages import csrf_token, page_login
from support.problems import assert_problem
from support.roles import grant

from authapp.core.extensions import db
from authapp.db.models import User


@pytest.fixture
def bob(auth):
    return auth.signed_in("bob")


@pytest.fixture
def admin_client(app, auth):
    """A browser signed in as an admin a moment ago."""
    auth.register("root")
    grant(app, "root")
    browser = app.test_client()
    assert page_login(browser, "root").status_code == 302
    return browser


def post(browser, path: str, **data):
    return browser.post(path, data={"csrf_token": csrf_token(browser, "/account"), **data})


def test_visitors_are_sent_to_sign_in(client):
    response = client.get("/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/admin"), ("GET", "/admin/users/{id}"), ("GET", "/admin/users/{id}/disable"),
    ("POST", "/admin/users/{id}/disable"), ("POST", "/admin/users/{id}/enable"),
    ("POST", "/admin/users/{id}/sign-out"), ("POST", "/admin/users/{id}/roles")])
def test_a_non_admin_sees_the_403_page_and_nothing_changes(app, client, bob, method, path):
    client.post("/register", data={"csrf_token": csrf_token(client, "/register"),
                                   "username": "mallory", "password": PASSWORD,
                                   "confirm": PASSWORD})
    url = path.format(id=bob.user["id"])
    data = {"csrf_token": csrf_token(client, "/account"), "roles": "admin"}
    response = client.get(url) if method == "GET" else client.post(url, data=data)

    assert response.status_code == 403
    assert "text/html" in response.content_type
    assert "ask an administrator" in response.get_data(as_text=True)
    assert me(client, bob.access_token).json["roles"] == []
    assert login(client, "bob").status_code == 200


def test_the_admin_link_shows_only_for_admins(client, admin_client, auth):
    auth.register("carol")
    page_login(client, "carol")

    assert 'href="/admin"' in admin_client.get("/account").get_data(as_text=True)
    assert 'href="/admin"' not in client.get("/account").get_data(as_text=True)


def test_an_admin_finds_a_user_and_sees_their_sessions_and_events(admin_client, bob):
    listing = admin_client.get("/admin?q=BO").get_data(as_text=True)
    assert f'data-user-id="{bob.user["id"]}"' in listing

    page = admin_client.get(f"/admin/users/{bob.user['id']}").get_data(as_text=True)
    assert "Live sessions (1)" in page
    assert "Signed in" in page and "Account created" in page


def test_an_admin_disables_a_user_after_a_confirmation_step(admin_client, client, bob):
    confirm = admin_client.get(f"/admin/users/{bob.user['id']}/disable")
    assert confirm.status_code == 200
    assert "Disable bob?" in confirm.get_data(as_text=True)
    assert me(client, bob.access_token).status_code == 200  # asking changed nothing

    done = post(admin_client, f"/admin/users/{bob.user['id']}/disable")

    assert done.status_code == 302
    assert_problem(me(client, bob.access_token), 401, "token_revoked")
    assert "bob is disabled" in admin_client.get(done.headers["Location"]).get_data(as_text=True)


def test_an_admin_signs_a_user_out_everywhere_and_sets_roles(admin_client, client, bob):
    post(admin_client, f"/admin/users/{bob.user['id']}/sign-out")
    assert_problem(me(client, bob.access_token), 401, "token_revoked")

    post(admin_client, f"/admin/users/{bob.user['id']}/roles", roles="auditor")
    access = login(client, "bob").json["access_token"]
    assert me(client, access).json["roles"] == ["auditor"]


def test_a_post_without_the_csrf_token_is_refused(admin_client, client, bob):
    response = admin_client.post(f"/admin/users/{bob.user['id']}/disable")

    assert response.status_code in (400, 403)
    assert me(client, bob.access_token).status_code == 200


def test_an_admin_without_recent_authentication_confirms_then_continues(admin_client, bob):
    with later(minutes=6):
        asked = admin_client.get("/admin?q=bob")
        assert asked.status_code == 302
        assert asked.headers["Location"] == "/account/confirm?next=/admin?q%3Dbob"

        wrong = admin_client.post("/account/confirm", data={
            "csrf_token": csrf_token(admin_client, asked.headers["Location"]),
            "password": "not it", "next": "/admin?q=bob"})
        assert wrong.status_code == 422
        assert "The password is not correct." in wrong.get_data(as_text=True)

        right = admin_client.post("/account/confirm", data={
            "csrf_token": csrf_token(admin_client, asked.headers["Location"]),
            "password": PASSWORD, "next": "/admin?q=bob"})
        assert right.status_code == 302 and right.headers["Location"] == "/admin?q=bob"
        assert admin_client.get("/admin?q=bob").status_code == 200


def test_a_stale_post_goes_to_the_confirm_step_and_changes_nothing(admin_client, client, bob):
    with later(minutes=6):
        response = post(admin_client, f"/admin/users/{bob.user['id']}/disable",
                        next=f"/admin/users/{bob.user['id']}")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/account/confirm?next=/admin/users/")
        assert me(client, bob.access_token).status_code == 200


def test_the_confirm_step_never_redirects_off_site(admin_client):
    response = admin_client.post("/account/confirm", data={
        "csrf_token": csrf_token(admin_client, "/account/confirm"), "password": PASSWORD,
        "next": "//evil.example/"})
    assert response.headers["Location"] == "/account"


# -- leaving ---------------------------------------------------------------------------------


@pytest.fixture
def alice_browser(app, auth):
    auth.register("alice")
    browser = app.test_client()
    page_login(browser, "alice")
    return browser


def test_download_my_data_is_a_json_attachment(alice_browser):
    response = alice_browser.get("/account/export")

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.json["profile"]["username"] == "alice"


def test_deleting_from_the_page_needs_the_typed_username(app, alice_browser):
    response = alice_browser.post("/account/delete", data={
        "csrf_token": csrf_token(alice_browser, "/account/delete"), "confirm": "alic",
        "password": PASSWORD})

    assert response.status_code == 422
    assert "Type alice exactly" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.query(User).count() == 1


def test_deleting_from_the_page_deletes_and_signs_out(app, alice_browser, client):
    response = alice_browser.post("/account/delete", data={
        "csrf_token": csrf_token(alice_browser, "/account/delete"), "confirm": "alice",
        "password": PASSWORD})

    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert alice_browser.get("/account").status_code == 302
    assert_problem(login(client, "alice"), 401, "invalid_credentials")


def test_the_delete_page_asks_for_a_recent_authentication(alice_browser):
    with later(minutes=6):
        response = alice_browser.get("/account/delete")
    assert response.headers["Location"] == "/account/confirm?next=/account/delete"
