"""Look-alike usernames (UTS 39 skeletons, mixed scripts) and the PRECIS profile (RFC 8265)."""

import re

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from support.api import PASSWORD, login, register
from support.apps import MIGRATIONS, make_config

from authapp import create_app
from authapp.accounts.usernames import username_skeleton
from authapp.core.extensions import db
from authapp.db.models import User

CYRILLIC_A = "\u0430"
CSRF_FIELD = re.compile(rb'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.mark.parametrize(("existing", "look_alike"), [
    ("attacker1", f"{CYRILLIC_A}ttacker1"),  # the example (also mixed scripts)
    ("cope", "\u0441\u043e\u0440\u0435"),  # all Cyrillic: one script, same look
    ("alice", "a1ice"),
    ("alice", "AIice"),  # capital i
    ("modern", "rnodern"),
    ("bob", "b0b"),
])
def test_a_name_that_looks_like_an_existing_one_is_refused(client, auth, existing, look_alike):
    auth.register(existing)

    response = register(client, look_alike)

    assert response.status_code in (409, 422), response.json
    assert response.json["code"] in ("username_taken", "validation_error")
    assert login(client, look_alike).status_code == 401  # no such account was made


def test_a_whole_script_look_alike_gets_a_clear_409(client, auth):
    auth.register("cope")

    response = register(client, "\u0441\u043e\u0440\u0435")

    assert response.status_code == 409
    assert response.json["code"] == "username_taken"
    assert "looks too much like an existing one" in response.json["detail"]


def test_a_name_mixing_scripts_is_refused_even_when_nobody_has_its_look(client):
    response = register(client, f"{CYRILLIC_A}ttacker1")

    assert response.status_code == 422
    [message] = response.json["errors"]["username"]
    assert "Cyrillic and Latin" in message


@pytest.mark.parametrize("name", ["alice", "jürgen", "zoë_2", "δέλτα", "ひらがなカタカナ漢字",
                                  "Иван", "김철수", "a.b-c"])
def test_ordinary_names_of_one_script_still_register(auth, name):
    auth.register(name)


def test_names_that_differ_visibly_are_not_look_alikes(auth):
    auth.register("jurgen")
    auth.register("jürgen")
    auth.register("alice2")


def test_a_character_the_precis_profile_disallows_is_refused(client):
    response = register(client, "ali\u0640ce")  # ARABIC TATWEEL: a letter to isalpha()

    assert response.status_code == 422
    assert "RFC 8265" in response.json["errors"]["username"][0]


def test_the_registration_page_shows_the_look_alike_message_at_the_field(client, auth):
    auth.register("alice")
    token = CSRF_FIELD.search(client.get("/register").data).group(1).decode()

    response = client.post("/register", data={"csrf_token": token, "username": "a1ice",
                                              "password": PASSWORD, "confirm": PASSWORD})

    assert response.status_code == 422
    assert b"looks too much like an existing one" in response.data
    assert b'id="username-error"' in response.data


def test_existing_names_that_break_the_new_rules_still_sign_in(app, client):
    """A mixed-script name registered before the rules existed keeps working."""
    from authapp.accounts.passwords import hash_password

    name = f"{CYRILLIC_A}ttacker1"
    with app.app_context():
        db.session.add(User(username=name, username_key=name, username_skeleton=username_skeleton(
            name), password_hash=hash_password(PASSWORD)))
        db.session.commit()

    assert login(client, name).status_code == 200
    assert register(client, "attacker1").status_code == 409  # and its look is still its own


def test_the_migration_gives_existing_accounts_their_skeleton(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'old.sqlite3'}"))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision="0003")
        db.session.execute(sa.text(
            "INSERT INTO users (username, username_key, password_hash, created_at, "
            "password_changed_at) VALUES ('AIice', 'aiice', 'x', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')"))
        db.session.commit()

        upgrade(directory=MIGRATIONS)

        skeleton = db.session.scalar(sa.text("SELECT username_skeleton FROM users"))
        db.engine.dispose()
    assert skeleton == username_skeleton("alice")
