def test_health_reports_the_database(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_register_login_me_round_trip(auth, client):
    signed_in = auth.signed_in("alice")
    response = client.get("/api/me", headers=signed_in.headers)
    assert response.status_code == 200
    assert response.json["username"] == "alice"


def test_access_token_expires_when_the_clock_moves(auth, client):
    import datetime as dt

    import time_machine

    signed_in = auth.signed_in("alice")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)):
        response = client.get("/api/me", headers=signed_in.headers)
    assert response.status_code == 401
    assert response.json["code"] == "token_expired"
