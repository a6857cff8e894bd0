"""GET /api/openapi.json and GET /api/docs (SPEC §14): the document matches the routes."""

import re
import secrets

import pytest
from flask import Flask, jsonify
from support.apps import make_config

from authapp import create_app
from authapp.api.openapi import UNDOCUMENTED_METHODS, documented_rules

PROBLEM_JSON = "application/problem+json"


def document_of(app: Flask) -> dict:
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.json


def undocumented(app: Flask, document: dict) -> list[str]:
    """Every method of every /api and /.well-known route the document does not describe."""
    missing = []
    for rule in documented_rules(app):
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in sorted(rule.methods - UNDOCUMENTED_METHODS):
            if method.lower() not in document["paths"].get(path, {}):
                missing.append(f"{method} {path}")
    return missing


@pytest.fixture
def document(app: Flask) -> dict:
    return document_of(app)


def operations(document: dict):
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_the_document_is_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]


def test_every_api_route_is_in_the_document(app, document):
    assert [rule for rule in documented_rules(app)], "no /api routes found"
    assert undocumented(app, document) == []


def test_a_route_added_without_a_declaration_is_reported(database_url):
    app = create_app(make_config(database_url))

    @app.get("/api/new-thing")
    def new_thing():
        return jsonify(ok=True)

    assert undocumented(app, document_of(app)) == ["GET /api/new-thing"]


def test_request_bodies_come_from_the_models(document):
    login = document["paths"]["/api/auth/login"]["post"]["requestBody"]
    assert login["required"] is True
    ref = login["content"]["application/json"]["schema"]["$ref"]
    schema = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(schema["required"]) == {"username", "password"}
    assert schema["properties"]["refresh_in_body"]["type"] == "boolean"


@pytest.mark.parametrize("route, statuses", [
    ("POST /api/auth/register", {"201", "400", "409", "413", "415", "422", "429", "503"}),
    ("POST /api/auth/login", {"200", "400", "401", "413", "415", "422", "429", "503"}),
    ("POST /api/auth/refresh", {"200", "401", "403", "429", "503"}),
    ("POST /api/auth/password", {"204", "400", "401", "403", "413", "415", "422", "429"}),
    ("DELETE /api/sessions/{session_id}", {"204", "401", "403", "404", "503"}),
    ("GET /api/health", {"200", "503"}),
])
def test_every_answer_a_route_can_give_is_documented(document, route, statuses):
    assert statuses <= set(dict(operations(document))[route]["responses"])


def test_every_problem_answer_has_the_problem_schema(document):
    responses = document["components"]["responses"]
    for route, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                problem = responses[response["$ref"].rsplit("/", 1)[1]]
                schema = problem["content"][PROBLEM_JSON]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, (route, status)
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert "Retry-After" in responses["429"]["headers"]


def test_security_schemes_name_bearer_tokens_and_the_cookies_with_their_csrf_header(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["accessToken"] == {**schemes["accessToken"], "type": "http",
                                      "scheme": "bearer"}
    assert schemes["refreshCookie"]["in"] == "cookie"
    assert schemes["refreshCookie"]["name"] == "refresh_token_cookie"
    assert schemes["csrfHeader"] == {**schemes["csrfHeader"], "in": "header",
                                     "name": "X-CSRF-TOKEN"}
    paths = document["paths"]
    assert {"refreshCookie": [], "csrfHeader": []} in paths["/api/auth/refresh"]["post"][
        "security"]
    assert {"accessToken": []} in paths["/api/me"]["get"]["security"]
    assert paths["/api/auth/login"]["post"]["security"] == []


def test_production_documents_its_host_prefixed_cookie_names(database_url):
    app = create_app(make_config(database_url, ENV_NAME="production",
                                 SECRET_KEY=secrets.token_urlsafe(40),
                                 JWT_SECRET_KEY=secrets.token_urlsafe(40)))
    schemes = document_of(app)["components"]["securitySchemes"]
    assert schemes["refreshCookie"]["name"] == "__Host-refresh_token_cookie"


def test_the_docs_page_loads_only_local_assets(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "style=" not in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(asset.startswith("/static/") for asset in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert 'data-url="/api/openapi.json"' in page


def test_no_content_answers_name_no_media_type(client, auth):
    signed_in = auth.signed_in()
    auth.login()  # a second session, to revoke from the first
    sessions = client.get("/api/sessions", headers=signed_in.headers).json["sessions"]
    other = next(session["id"] for session in sessions if not session["current"])
    answers = [client.delete(f"/api/sessions/{other}", headers=signed_in.headers),
               client.post("/api/auth/logout", headers=signed_in.headers),
               client.post("/api/auth/logout-all", headers=auth.login().headers)]
    for answer in answers:
        assert answer.status_code == 204, answer.data
        assert "Content-Type" not in answer.headers, answer.headers
        assert answer.data == b""
