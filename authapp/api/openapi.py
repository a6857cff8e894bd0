"""The OpenAPI 3.1 document, generated from the routes and their declarations.

Every ``/api`` and ``/.well-known`` route of ``app.url_map`` appears with the
``@operation`` it declares (api/operations.py) and the request and response
models it names (api/schemas.py), so the document describes exactly what the
code validates and answers. Built once per app, on first request.
"""

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from authapp.api.operations import Content, Operation, declared_operation
from authapp.api.schemas import Problem
from authapp.core.errors import PROBLEMS
from authapp.http.problems import PROBLEM_JSON
from authapp.http.ratelimits import declared_limits

DOCUMENTED_PREFIXES = ("/api/", "/.well-known/")
UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}
REF = "#/components/schemas/{model}"
_PARAMETER = re.compile(r"<(?:(?P<converter>[^:<>]+):)?(?P<name>[^<>]+)>")
_CONVERTER_SCHEMAS = {"int": {"type": "integer", "minimum": 0}}
DEFAULT_PARAMETER = {"type": "string", "minLength": 1, "pattern": "^[^/]+$"}

# Problems any request can meet, and the ones each declaration brings.
EVERY_REQUEST = (414, 431)
BODY = (400, 413, 415, 422)
TOKEN = (401, 403)
PATH_PARAMETER = (404,)
RATE_LIMITED = (429,)
DATABASE = (503,)
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer", "minimum": 1}}}
RESPONSE_HEADERS = {401: {"WWW-Authenticate": {"description": "RFC 6750 challenge.",
                                               "schema": {"type": "string"}}},
                    429: RETRY_AFTER, 503: RETRY_AFTER}
SECURITY = {
    "access": [{"accessToken": []}, {"accessCookie": [], "csrfHeader": []}],
    "refresh": [{"refreshToken": []}, {"refreshCookie": [], "csrfHeader": []}],
}


def documented_rules(app: Flask) -> Iterator[Rule]:
    """The routes the document must describe."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(DOCUMENTED_PREFIXES):
            yield rule


def openapi_document(app: Flask) -> dict[str, Any]:
    """The document for ``app`` (its cookie names come from its configuration)."""
    operations = [(rule, op) for rule in documented_rules(app)
                  if (op := declared_operation(app.view_functions[rule.endpoint]))]
    models = _models(op for _, op in operations)
    refs, definitions = models_json_schema([(model, "validation") for model in models],
                                           ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for rule, op in operations:
        view = app.view_functions[rule.endpoint]
        path, parameters = _path(rule)
        for method in sorted((rule.methods or set()) - UNDOCUMENTED_METHODS):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule, op, parameters, bool(declared_limits(view)),
                {model: refs[(model, "validation")] for model in models})
    return {
        "openapi": "3.1.0",
        "info": {"title": "authapp", "version": "1",
                 "description": "JWT access tokens and rotating refresh tokens (SPEC §3, §4)."},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "responses": _problem_responses(refs[(Problem, "validation")]),
            "securitySchemes": _security_schemes(app),
        },
    }


def _models(operations: Iterator[Operation]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [Problem]
    for op in operations:
        for model in (op.body, *op.answers.values()):
            if isinstance(model, type) and issubclass(model, BaseModel) and model not in found:
                found.append(model)
    return found


def _path(rule: Rule) -> tuple[str, list[dict[str, Any]]]:
    """``/api/sessions/<session_id>`` as ``/api/sessions/{session_id}`` and its parameters."""
    parameters = [{"name": match["name"], "in": "path", "required": True,
                   "schema": _CONVERTER_SCHEMAS.get(match["converter"], DEFAULT_PARAMETER)}
                  for match in _PARAMETER.finditer(rule.rule)]
    return _PARAMETER.sub(lambda match: "{" + match["name"] + "}", rule.rule), parameters


def _operation(rule: Rule, op: Operation, parameters: list[dict[str, Any]], limited: bool,
               refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    problems = {*EVERY_REQUEST, *op.problems, *(BODY if op.body else ()),
                *(TOKEN if op.auth else ()), *(PATH_PARAMETER if parameters else ()),
                *(RATE_LIMITED if limited else ()), *(DATABASE if op.database else ())}
    responses: dict[str, Any] = {
        str(status): _answer(answer, refs) for status, answer in sorted(op.answers.items())}
    responses.update({str(status): {"$ref": f"#/components/responses/{status}"}
                      for status in sorted(problems)})
    document: dict[str, Any] = {"operationId": rule.endpoint, "summary": op.summary,
                                "responses": responses, "security": SECURITY.get(op.auth, [])}
    if op.description:
        document["description"] = op.description
    if parameters or op.parameters:
        document["parameters"] = [*parameters, *op.parameters]
    for status, headers in op.headers.items():
        responses[str(status)]["headers"] = headers
    if op.body:
        document["requestBody"] = {"required": True,
                                   "content": {"application/json": {"schema": refs[op.body]}}}
    if op.links:
        for status, links in op.links.items():
            responses[str(status)]["links"] = links
    return document


def _answer(answer: Any, refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    if answer is None:
        return {"description": "Done; no body."}
    if isinstance(answer, Content):
        return {"description": "OK", "content": {answer.media_type: {"schema": answer.schema}}}
    return {"description": answer.__doc__ or "OK",
            "content": {"application/json": {"schema": refs[answer]}}}


def _problem_responses(problem_ref: dict[str, str]) -> dict[str, Any]:
    statuses = sorted({status for status, _ in PROBLEMS.values()} - {500})
    responses = {}
    for status in statuses:
        codes = sorted(code for code, (code_status, _) in PROBLEMS.items() if code_status == status)
        responses[str(status)] = {
            "description": "Problem details; code " + " or ".join(f"`{c}`" for c in codes) + ".",
            "content": {PROBLEM_JSON: {"schema": problem_ref}},
            **({"headers": RESPONSE_HEADERS[status]} if status in RESPONSE_HEADERS else {}),
        }
    return responses


def _security_schemes(app: Flask) -> dict[str, Any]:
    config = app.config
    csrf_header = config["JWT_ACCESS_CSRF_HEADER_NAME"]
    return {
        "accessToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                        "description": "An access token from sign-in or refresh."},
        "refreshToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                         "description": "A refresh token (sign-in with refresh_in_body)."},
        "accessCookie": {"type": "apiKey", "in": "cookie",
                         "name": config["JWT_ACCESS_COOKIE_NAME"],
                         "description": "The pages' access cookie."},
        "refreshCookie": {"type": "apiKey", "in": "cookie",
                          "name": config["JWT_REFRESH_COOKIE_NAME"],
                          "description": "The HttpOnly refresh cookie set by sign-in."},
        "csrfHeader": {"type": "apiKey", "in": "header", "name": csrf_header,
                       "description": f"The matching csrf_* cookie's value; needed with a "
                                      f"cookie on {', '.join(config['JWT_CSRF_METHODS'])}."},
    }
