"""Pages as a newcomer met them: confirm steps, focus, autocomplete, activity times and paging."""

import datetime as dt
import re

import pytest
import time_machine
from support.api import PASSWORD
from support.pages import csrf_token, page_login, page_register

from authapp.web.times import relative_time

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
CHROME = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/126.0.0.0 Safari/537.36")


def inputs(page: bytes) -> list[str]:
    return re.findall(r"<input[^>]*>", page.decode())


def autofocused(page: bytes) -> list[str]:
    """The ids of the inputs that carry ``autofocus``."""
    return [re.search(r'\bid="([^"]+)"', tag).group(1) for tag in inputs(page)
            if re.search(r"\sautofocus[\s>]", tag)]


# -- sign out everywhere asks first ----------------------------------------------------------


def test_account_links_to_a_confirm_step_instead_of_acting_at_once(client):
    page_register(client)

    account = client.get("/account").data.decode()

    assert 'action="/account/sign-out-everywhere"' not in account
    assert re.search(r'<a class="button button-secondary[^"]*"\s+href="/account/sign-out-'
                     r'everywhere">Sign out everywhere', account)


def test_the_confirm_page_posts_the_sign_out_and_offers_a_way_back(client):
    page_register(client)

    confirm = client.get("/account/sign-out-everywhere")

    assert confirm.status_code == 200
    page = confirm.data.decode()
    assert 'method="post" action="/account/sign-out-everywhere"' in page
    assert 'href="/account">Cancel</a>' in page
    assert client.get("/account").status_code == 200  # nothing happened yet


def test_confirming_signs_out_everywhere(client):
    page_register(client)
    token = csrf_token(client, "/account/sign-out-everywhere")

    response = client.post("/account/sign-out-everywhere", data={"csrf_token": token})

    assert response.status_code == 302
    assert client.get("/account").status_code == 302


# -- focus and autocomplete ----------------------------------------------------------------


@pytest.mark.parametrize(("path", "first"), [("/login", "username"), ("/register", "username")])
def test_the_first_field_is_autofocused(client, path, first):
    assert autofocused(client.get(path).data) == [first]


def test_a_failed_register_focuses_the_first_invalid_field(client):
    token = csrf_token(client, "/register")

    response = client.post("/register", data={"csrf_token": token, "username": "carol",
                                              "password": PASSWORD, "confirm": "different"})

    assert response.status_code == 422
    assert autofocused(response.data) == ["confirm"]


def test_a_refused_username_takes_the_focus(client):
    page_register(client, "x")  # too short

    response = page_register(client, "x")

    assert autofocused(response.data) == ["username"]


def test_a_failed_sign_in_focuses_the_password(client, auth):
    auth.register("alice")

    response = page_login(client, "alice", "wrong password here")

    assert response.status_code == 422
    assert autofocused(response.data) == ["password"]


def test_the_password_form_has_the_username_password_managers_expect(client):
    page_register(client)

    page = client.get("/account/password").data
    hidden = [tag for tag in inputs(page) if 'autocomplete="username"' in tag]

    assert len(hidden) == 1
    assert 'value="alice"' in hidden[0] and " hidden" in hidden[0] and "readonly" in hidden[0]


@pytest.mark.parametrize("path", ["/login", "/register", "/account/password", "/app"])
def test_every_visible_text_and_password_field_says_what_to_autocomplete(client, path):
    page_register(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    if path == "/account/password":
        page_login(client)

    fields = [tag for tag in inputs(client.get(path).data)
              if 'type="hidden"' not in tag and "name=\"next\"" not in tag]

    assert fields, path
    for tag in fields:
        assert re.search(r'autocomplete="(username|email|current-password|new-password'
                         r'|one-time-code)"', tag), tag


# -- activity: relative times, exact ISO in the title, paging --------------------------------


@pytest.mark.parametrize(("ago", "text"), [
    (dt.timedelta(seconds=10), "just now"),
    (dt.timedelta(minutes=1), "1 minute ago"),
    (dt.timedelta(minutes=5), "5 minutes ago"),
    (dt.timedelta(hours=3), "3 hours ago"),
    (dt.timedelta(days=1), "1 day ago"),
    (dt.timedelta(days=12), "12 days ago"),
    (dt.timedelta(days=45), "17 Apr 2026"),
])
def test_relative_times_read_like_a_person_would_say_them(ago, text):
    assert relative_time(NOW - ago, NOW) == text


def test_account_activity_says_how_long_ago_with_the_exact_time_in_the_title(client):
    with time_machine.travel(NOW, tick=False):
        page_register(client)
    with time_machine.travel(NOW + dt.timedelta(minutes=5), tick=False):
        page = client.get("/account").data.decode()

    exact = "2026-06-01T12:00:00+00:00"
    assert f'<time datetime="{exact}" title="{exact}">5 minutes ago</time>' in page


def test_more_than_ten_events_get_a_link_to_older_activity(client, auth):
    auth.register("alice")
    for _ in range(11):
        auth.login("alice")  # a sign-in event each
    page_login(client)

    account = client.get("/account").data.decode()
    assert account.count('class="event ') == 10
    assert 'href="/account/activity?page=2">Older activity' in account

    older = client.get("/account/activity?page=2").data.decode()
    assert older.count('class="event ') == 3  # 12 sign-ins and the account's creation
    assert "?page=3" not in older
    assert 'href="/account">Newer' in older


def test_ten_events_or_fewer_get_no_more_link(client):
    page_register(client)

    assert "Older activity" not in client.get("/account").data.decode()


def test_activity_pages_need_a_sign_in(client):
    response = client.get("/account/activity?page=2")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# -- one device formatter for pages and API ------------------------------------------------


def test_the_sessions_api_names_the_device_as_the_account_page_does(client, auth):
    auth.register("alice")
    response = client.post("/api/auth/login", headers={"User-Agent": CHROME},
                           json={"username": "alice", "password": PASSWORD,
                                 "refresh_in_body": True})
    access = response.json["access_token"]

    [session] = client.get("/api/sessions", headers={"Authorization": f"Bearer {access}"}
                           ).json["sessions"]

    assert session["user_agent"] == CHROME
    assert session["device"] == "Chrome 126 on Linux"
