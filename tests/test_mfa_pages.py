"""Two-factor sign-in on the pages (SPEC §10): /login then /login/verify, and
/account/security (set up with a QR code and the key as text, codes shown once, turn off,
new codes), each change behind "confirm it's you"; no JavaScript needed."""

import re
from datetime import UTC, datetime

import time_machine
from support.api import PASSWORD, AuthActions
from support.mfa import code_at, enrol
from support.pages import csrf_token, page_login

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp()
TOKEN_COOKIES = ("access_token_cookie", "refresh_token_cookie")


def at(seconds: float) -> time_machine.travel:
    return time_machine.travel(START + seconds, tick=False)


def enrolled_alice(client) -> str:
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
        secret = enrol(client, signed_in.access_token, START).secret
    client.delete_cookie("refresh_token_cookie")
    return secret


def verify(client, code: str, method: str = ""):
    path = "/login/verify" + (f"?method={method}" if method else "")
    field = "recovery_code" if method else "code"
    return client.post(path, data={"csrf_token": csrf_token(client, path), field: code})


def page_signed_in(client) -> None:
    assert page_login(client).status_code == 302
    assert client.get("/account").status_code == 200


def test_the_password_step_sets_no_token_and_sends_to_verify(client):
    secret = enrolled_alice(client)
    with at(40):
        answer = page_login(client, next_="/account/activity")
        assert answer.status_code == 302 and answer.location.endswith("/login/verify")
        assert not any(client.get_cookie(name) for name in TOKEN_COOKIES)
        page = client.get("/login/verify")
        assert b'autocomplete="one-time-code"' in page.data
        done = verify(client, code_at(secret, START + 40))
    assert done.status_code == 302 and done.location.endswith("/account/activity")
    assert all(client.get_cookie(name) for name in TOKEN_COOKIES)
    with at(41):
        assert client.get("/account").status_code == 200


def test_a_wrong_code_shows_an_error_and_the_fifth_sends_back_to_login(client):
    enrolled_alice(client)
    with at(40):
        page_login(client)
        wrong = verify(client, "000000")
        assert wrong.status_code == 422 and b"not correct" in wrong.data
        for _ in range(4):
            last = verify(client, "000000")
    assert last.status_code == 302 and last.location.endswith("/login")
    assert client.get("/login/verify").location.endswith("/login")


def test_a_recovery_code_signs_in_on_the_page(client):
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
        codes = enrol(client, signed_in.access_token, START).recovery_codes
    with at(40):
        page_login(client)
        page = client.get("/login/verify")
        assert b"?method=recovery_code" in page.data
        done = verify(client, codes[0].lower(), method="recovery_code")
    assert done.status_code == 302 and done.location.endswith("/account")


def test_verify_without_a_pending_sign_in_goes_to_login(client):
    assert client.get("/login/verify").location.endswith("/login")


def test_setting_it_up_shows_a_qr_code_and_the_key_then_the_codes_once(client):
    AuthActions(client).register("alice")
    with at(0):
        page_signed_in(client)
        started = client.post("/account/security/totp",
                              data={"csrf_token": csrf_token(client, "/account/security")})
        assert started.location.endswith("/account/security/totp")
        setup = client.get("/account/security/totp").get_data(as_text=True)
        assert 'src="data:image/svg+xml' in setup
        assert "<script" not in setup.split("<main")[1].split("</main>")[0]
        secret = re.search(r'id="totp-secret">([A-Z2-7]{32})<', setup).group(1)
        codes_page = client.post("/account/security/totp/confirm", data={
            "csrf_token": csrf_token(client, "/account/security/totp"),
            "code": code_at(secret, START)})
        assert codes_page.status_code == 200
        codes = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", codes_page.get_data(
            as_text=True))
        assert len(codes) == 10
        assert b'download="authapp-recovery-codes.txt"' in codes_page.data
        security = client.get("/account/security")
    assert b"10 of 10" in security.data and b"Turn off" in security.data


def test_a_stale_session_confirms_it_is_you_before_setting_up(client):
    AuthActions(client).register("alice")
    with at(0):
        page_signed_in(client)
    with at(400):
        answer = client.post("/account/security/totp", data={
            "csrf_token": csrf_token(client, "/account/security"), "next": "/account/security"})
    assert "/account/confirm?next=/account/security" in answer.location


def test_turning_it_off_on_the_page_needs_a_current_code(client):
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
        secret = enrol(client, signed_in.access_token, START).secret
    with at(40):
        page_login(client)
        verify(client, code_at(secret, START + 40))
        form = {"csrf_token": csrf_token(client, "/account/security")}
        wrong = client.post("/account/security/totp/disable", data={**form, "code": "123"})
        done = client.post("/account/security/totp/disable",
                           data={**form, "code": code_at(secret, START + 70)})
        assert client.get("/account/security").data.count(b"Set up an authenticator") == 1
    assert wrong.status_code == 422
    assert done.status_code == 302


def test_new_codes_on_the_page_replace_the_old_set(client):
    with at(0):
        signed_in = AuthActions(client).signed_in("alice")
        old = enrol(client, signed_in.access_token, START).recovery_codes
    with at(40):
        page_login(client)
        verify(client, old[0], method="recovery_code")
        fresh = client.post("/account/security/recovery-codes",
                            data={"csrf_token": csrf_token(client, "/account/security")})
    new = re.findall(r"<li><code>([A-Z2-7-]{19})</code></li>", fresh.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)


def test_the_account_page_links_to_security_and_shows_2fa_activity(client):
    secret = enrolled_alice(client)
    with at(40):
        page_login(client)
        verify(client, code_at(secret, START + 40))
        account = client.get("/account").get_data(as_text=True)
    assert 'href="/account/security"' in account
    assert "Two-factor sign-in turned on" in account
    assert PASSWORD not in account
