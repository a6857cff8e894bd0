"""Two-factor sign-in through the API (SPEC §10, §9): enrolment, the two-step login, replay
protection, recovery codes, turning it off, and the recent-authentication gate."""

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from cryptography.exceptions import InvalidTag
from flask import Flask
from sqlalchemy import select
from support.api import PASSWORD, bearer, bearer_refresh, login, me
from support.mfa import code_at, enrol, password_step, second_step, secret_of
from support.problems import assert_problem
from support.tokens import claims

from authapp.core.extensions import db
from authapp.db.models import Authenticator, AuthEvent, MfaChallenge
from authapp.mfa import totp

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC).timestamp()  # a step boundary
WRONG = "not the right password at all"


def at(seconds: float) -> time_machine.travel:
    return time_machine.travel(START + seconds, tick=False)


@pytest.fixture
def enrolled(client, auth):
    """alice with TOTP on, set up at START."""
    with at(0):
        signed_in = auth.signed_in("alice")
        return enrol(client, signed_in.access_token, START)


def events(app: Flask, event_type: str) -> list[AuthEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuthEvent).where(
            AuthEvent.event_type == event_type)))


# -- enrolment -----------------------------------------------------------------------------


def test_enrolment_gives_a_secret_and_an_otpauth_uri(client, auth):
    with at(0):
        token = auth.signed_in("alice").access_token
        started = client.post("/api/account/mfa/totp", headers=bearer(token))
    assert started.status_code == 200
    secret = started.json["secret"]
    assert len(secret) == 32  # base32: 160 bits
    assert started.json["otpauth_uri"] == (
        f"otpauth://totp/authapp:alice?secret={secret}&issuer=authapp&digits=6&period=30")
    assert secret_of(started.json["otpauth_uri"]) == secret


def test_confirming_turns_it_on_with_ten_codes_and_signs_out_other_sessions(client, auth):
    with at(0):
        first = auth.signed_in("alice")
        other = auth.login("alice")
        done = enrol(client, first.access_token, START)
        status = client.get("/api/account/mfa", headers=first.headers)
        state = client.get("/api/auth/session", headers=first.headers)
        assert_problem(me(client, other.access_token), 401, "token_revoked")
        assert me(client, first.access_token).status_code == 200
    assert len(done.recovery_codes) == len(set(done.recovery_codes)) == 10
    assert status.json == {"totp": True, "passkeys": 0, "recovery_codes_remaining": 10}
    assert state.json["mfa_enabled"] is True


def test_the_secret_is_sealed_at_rest_and_bound_to_its_account(app, enrolled):
    with app.app_context():
        row = db.session.scalar(select(Authenticator).where(Authenticator.type == "totp"))
        assert enrolled.secret not in str(row.data)
        assert totp.open_secret(row) == enrolled.secret
        row.user_id += 1  # the same sealed value on another account's row does not open
        with pytest.raises(InvalidTag):
            totp.open_secret(row)
        db.session.rollback()


def test_a_wrong_confirming_code_leaves_it_off(client, auth):
    with at(0):
        token = auth.signed_in("alice").access_token
        client.post("/api/account/mfa/totp", headers=bearer(token))
        wrong = client.post("/api/account/mfa/totp/confirm", headers=bearer(token),
                            json={"code": "000000"})
        status = client.get("/api/account/mfa", headers=bearer(token))
    assert_problem(wrong, 401, "mfa_invalid")
    assert status.json["totp"] is False


def test_the_pending_secret_expires_after_15_minutes(client, auth):
    with at(0):
        token = auth.signed_in("alice").access_token
        secret = client.post("/api/account/mfa/totp", headers=bearer(token)).json["secret"]
    with at(850):
        token = auth.login("alice").access_token
    with at(900):
        late = client.post("/api/account/mfa/totp/confirm", headers=bearer(token),
                           json={"code": code_at(secret, START + 900)})
    body = assert_problem(late, 422, "validation_error")
    assert "code" in body["errors"]


def test_enrolment_needs_recent_authentication(client, auth):
    with at(0):
        token = auth.signed_in("alice").access_token
    with at(301):
        stale = client.post("/api/account/mfa/totp", headers=bearer(token))
    assert_problem(stale, 401, "reauthentication_required")
    assert stale.json["methods"] == ["password"]


def test_the_confirming_code_cannot_sign_in(client, enrolled):
    with at(5):
        token = password_step(client)
        replayed = second_step(client, token, code=code_at(enrolled.secret, START))
    assert_problem(replayed, 401, "mfa_invalid")


# -- the two-step login --------------------------------------------------------------------


def test_a_right_password_answers_mfa_required_with_no_tokens_and_no_cookies(client, enrolled):
    with at(40):
        response = login(client, "alice", PASSWORD)
    body = assert_problem(response, 401, "mfa_required")
    assert body["mfa_methods"] == ["totp", "recovery_code"]
    assert len(body["mfa_token"]) >= 43
    assert "access_token" not in body and "refresh_token" not in body
    assert response.headers.getlist("Set-Cookie") == []
    assert response.headers["Cache-Control"] == "no-store"


def test_the_second_step_in_bearer_mode_answers_like_a_login(client, enrolled):
    with at(40):
        token = password_step(client)
    with at(62):
        done = second_step(client, token, code=code_at(enrolled.secret, START + 62),
                           refresh_in_body=True)
    assert done.status_code == 200, done.json
    assert done.json["user"]["username"] == "alice"
    assert done.headers.getlist("Set-Cookie") == []
    access = claims(done.json["access_token"])
    assert access["amr"] == ["pwd", "otp", "mfa"]
    assert access["auth_time"] == int(START + 62)  # the time of the last factor
    assert access["fresh"] is True
    with at(70):
        renewed = bearer_refresh(client, done.json["refresh_token"])
    assert claims(renewed.json["access_token"])["amr"] == ["pwd", "otp", "mfa"]


def test_the_second_step_in_cookie_mode_sets_the_refresh_cookies(client, enrolled):
    with at(40):
        token = password_step(client)
        done = second_step(client, token, code=code_at(enrolled.secret, START + 40))
    assert done.status_code == 200, done.json
    assert "refresh_token" not in done.json
    assert client.get_cookie("refresh_token_cookie") is not None
    assert client.get_cookie("csrf_refresh_token") is not None


def test_unknown_user_and_wrong_password_still_answer_alike_for_a_2fa_account(client, enrolled):
    with at(40):
        unknown = login(client, "nobody", PASSWORD)
        wrong = login(client, "alice", WRONG)
    for response in (unknown, wrong):
        assert_problem(response, 401, "invalid_credentials")
    assert {k: v for k, v in unknown.json.items() if k != "request_id"} == {
        k: v for k, v in wrong.json.items() if k != "request_id"}
    assert unknown.headers.getlist("Set-Cookie") == wrong.headers.getlist("Set-Cookie") == []


# -- replay protection ---------------------------------------------------------------------


def test_one_code_signs_in_once(client, enrolled):
    code = code_at(enrolled.secret, START + 40)
    with at(40):
        assert second_step(client, password_step(client), code=code).status_code == 200
        again = second_step(client, password_step(client), code=code)
    assert_problem(again, 401, "mfa_invalid")


def test_an_older_step_is_refused_after_a_newer_one(client, enrolled):
    with at(60):
        newer = code_at(enrolled.secret, START + 60)
        older = code_at(enrolled.secret, START + 30)
        assert second_step(client, password_step(client), code=newer).status_code == 200
        refused = second_step(client, password_step(client), code=older)
    assert_problem(refused, 401, "mfa_invalid")


@pytest.mark.parametrize(("steps", "accepted"), [(-2, False), (-1, True), (1, True),
                                                 (2, False)])
def test_codes_one_step_either_side_are_accepted_and_no_further(client, enrolled, steps,
                                                                 accepted):
    now = START + 300 + 29  # the last second of a step
    with at(300 + 29):
        answer = second_step(client, password_step(client),
                             code=code_at(enrolled.secret, now, steps))
    assert answer.status_code == (200 if accepted else 401), answer.json


def test_two_requests_with_one_code_at_once_one_wins(app, enrolled):
    clients = [app.test_client() for _ in range(2)]
    code = code_at(enrolled.secret, START + 40)
    answers: list[int] = []
    with at(40):
        tokens = [password_step(c) for c in clients]
        barrier = threading.Barrier(2)

        def finish(c, token):
            barrier.wait()
            answers.append(second_step(c, token, code=code).status_code)

        threads = [threading.Thread(target=finish, args=pair)
                   for pair in zip(clients, tokens, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(answers) == [200, 401]


# -- the mfa_token -------------------------------------------------------------------------


def test_five_wrong_codes_burn_the_mfa_token(app, client, enrolled):
    with at(40):
        token = password_step(client)
        for _ in range(5):
            assert_problem(second_step(client, token, code="000000"), 401, "mfa_invalid")
        burnt = second_step(client, token, code=code_at(enrolled.secret, START + 40))
    body = assert_problem(burnt, 401, "mfa_invalid")
    assert "Sign in again" in body["detail"]
    assert len(events(app, "mfa_failed")) == 5


def test_the_mfa_token_is_single_use_and_lives_300_seconds(client, enrolled):
    with at(40):
        token = password_step(client)
        assert second_step(client, token, code=code_at(enrolled.secret, START + 40)
                           ).status_code == 200
        reused = second_step(client, token, code=code_at(enrolled.secret, START + 70))
        late = password_step(client)
    assert_problem(reused, 401, "mfa_invalid")
    with at(40 + 300):
        expired = second_step(client, late, code=code_at(enrolled.secret, START + 340))
    assert_problem(expired, 401, "mfa_invalid")


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/me"),
                                              ("POST", "/api/auth/refresh"),
                                              ("POST", "/api/auth/logout"),
                                              ("GET", "/api/account/mfa"),
                                              ("POST", "/api/auth/reauthenticate")])
def test_the_mfa_token_is_no_bearer_token_anywhere(client, enrolled, method, path):
    with at(40):
        token = password_step(client)
        refused = client.open(path, method=method, headers=bearer(token), json={})
    assert_problem(refused, 401, "token_invalid")


def test_a_disabled_account_cannot_finish_its_sign_in(app, client, enrolled):
    with at(40):
        token = password_step(client)
        with app.app_context():
            from authapp.accounts import users
            users.set_disabled(users.find_by_username("alice"), True, client=None)
        refused = second_step(client, token, code=code_at(enrolled.secret, START + 40))
    assert_problem(refused, 401, "mfa_invalid")


def test_the_second_step_takes_exactly_one_factor(client, enrolled):
    with at(40):
        token = password_step(client)
        both = second_step(client, token, code="123456", recovery_code="ABCD")
        neither = second_step(client, token)
    assert_problem(both, 422, "validation_error")
    assert_problem(neither, 422, "validation_error")


# -- recovery codes ------------------------------------------------------------------------


def test_a_recovery_code_signs_in_once_ignoring_case_spaces_and_dashes(client, enrolled):
    code = enrolled.recovery_codes[0]
    typed = " " + code.lower().replace("-", " ") + " "
    with at(40):
        done = second_step(client, password_step(client), recovery_code=typed)
        again = second_step(client, password_step(client), recovery_code=code)
        status = client.get("/api/account/mfa", headers=bearer(done.json["access_token"]))
    assert done.status_code == 200, done.json
    assert claims(done.json["access_token"])["amr"] == ["pwd", "otp", "mfa"]
    assert_problem(again, 401, "mfa_invalid")
    assert status.json["recovery_codes_remaining"] == 9


def test_recovery_codes_have_at_least_50_random_bits(enrolled):
    for code in enrolled.recovery_codes:
        characters = code.replace("-", "")
        assert len(characters) * 5 >= 50  # base32
        assert set(characters) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def test_recovery_codes_are_stored_only_as_hashes(app, enrolled):
    with app.app_context():
        stored = [str(row.data) for row in db.session.scalars(
            select(Authenticator).where(Authenticator.type == "recovery_code"))]
    assert len(stored) == 10
    for code in enrolled.recovery_codes:
        secret_part = code.replace("-", "")[4:]
        assert not any(secret_part in data for data in stored)


def test_a_new_set_of_codes_kills_the_old_one(client, enrolled):
    with at(10):
        fresh = client.post("/api/account/mfa/recovery-codes", headers=bearer(
            enrolled.access_token))
    assert fresh.status_code == 200
    new_codes = fresh.json["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(enrolled.recovery_codes)
    with at(40):
        old = second_step(client, password_step(client), recovery_code=enrolled.recovery_codes[1])
        new = second_step(client, password_step(client), recovery_code=new_codes[1])
    assert_problem(old, 401, "mfa_invalid")
    assert new.status_code == 200


def test_regenerating_codes_needs_recent_authentication(client, enrolled):
    with at(400):
        stale = client.post("/api/account/mfa/recovery-codes",
                            headers=bearer(enrolled.access_token))
    assert_problem(stale, 401, "reauthentication_required")
    assert stale.json["methods"] == ["password", "totp"]


# -- turning it off ------------------------------------------------------------------------


def test_turning_it_off_needs_a_current_code_and_signs_out_other_sessions(client, auth,
                                                                         enrolled):
    with at(40):
        other = second_step(client, password_step(client),
                            code=code_at(enrolled.secret, START + 40), refresh_in_body=True)
    with at(70):
        headers = bearer(enrolled.access_token)
        wrong = client.delete("/api/account/mfa/totp", headers=headers, json={"code": "000000"})
        done = client.delete("/api/account/mfa/totp", headers=headers,
                             json={"code": code_at(enrolled.secret, START + 70)})
        assert_problem(me(client, other.json["access_token"]), 401, "token_revoked")
        plain = login(client, "alice", PASSWORD)
    assert_problem(wrong, 401, "mfa_invalid")
    assert done.status_code == 204
    assert plain.status_code == 200 and claims(plain.json["access_token"])["amr"] == ["pwd"]


def test_turning_it_off_needs_recent_authentication(client, enrolled):
    with at(400):
        stale = client.delete("/api/account/mfa/totp", headers=bearer(enrolled.access_token),
                              json={"code": code_at(enrolled.secret, START + 400)})
    assert_problem(stale, 401, "reauthentication_required")


# -- re-authentication with a code ---------------------------------------------------------


def test_a_code_reauthenticates_the_session_once(client, enrolled):
    with at(400):
        code = code_at(enrolled.secret, START + 400)
        headers = bearer(enrolled.access_token)
        proved = client.post("/api/auth/reauthenticate", headers=headers, json={"code": code})
        replayed = client.post("/api/auth/reauthenticate", headers=headers, json={"code": code})
        wrong = client.post("/api/auth/reauthenticate", headers=headers, json={"code": "12345"})
    assert proved.status_code == 200, proved.json
    assert claims(proved.json["access_token"])["auth_time"] == int(START + 400)
    assert_problem(replayed, 401, "mfa_invalid")
    assert_problem(wrong, 401, "mfa_invalid")


def test_reauthenticate_takes_a_password_or_a_code(client, auth):
    with at(0):
        token = auth.signed_in("alice").access_token
        neither = client.post("/api/auth/reauthenticate", headers=bearer(token), json={})
        no_totp = client.post("/api/auth/reauthenticate", headers=bearer(token),
                              json={"code": "123456"})
    assert_problem(neither, 422, "validation_error")
    assert_problem(no_totp, 401, "mfa_invalid")


def test_every_change_and_use_is_audited(app, client, enrolled):
    with at(40):
        second_step(client, password_step(client), recovery_code=enrolled.recovery_codes[0])
    recorded = {e.event_type for e in events(app, "mfa_enabled") + events(app, "mfa_requested")
                + events(app, "recovery_code_used") + events(app, "mfa_setup_started")}
    assert recorded == {"mfa_enabled", "mfa_requested", "recovery_code_used",
                        "mfa_setup_started"}


def test_deleting_the_account_deletes_its_second_factors_and_challenges(app, client,
                                                                       enrolled):
    with at(40):
        password_step(client)
        gone = client.delete("/api/account", headers=bearer(enrolled.access_token),
                             json={"password": PASSWORD})
    assert gone.status_code == 204, gone.json
    with app.app_context():
        assert db.session.scalars(select(Authenticator)).all() == []
        assert db.session.scalars(select(MfaChallenge)).all() == []
