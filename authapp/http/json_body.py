"""The one reader of JSON request bodies: content type, encoding, depth, then fields.

Every consumer of a body (views, the rate limiter) reads it here, so they all
agree on what the body says. JSON is ``application/json`` or an
``application/*+json`` type, nothing else. The outcome, a document or the
error, is kept for the rest of the request, so the body is parsed once.
"""

import json
from typing import Any, TypeVar

from flask import current_app, g, request
from pydantic import BaseModel
from pydantic import ValidationError as SchemaError

from authapp.core.errors import AuthError, InvalidJSON, UnsupportedMediaType, ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

# pydantic error type -> the message a client reads (others keep pydantic's own words).
MESSAGES = {
    "missing": "This field is required.",
    "string_type": "Must be a string.",
    "bool_type": "Must be true or false.",
    "int_type": "Must be an integer.",
}


def is_json_media_type(mimetype: str) -> bool:
    """``application/json`` and ``application/*+json``; ``text/x+json`` is not JSON."""
    kind, _, subtype = mimetype.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 415/400/413/422 with a clear reason."""
    outcome = g.get("authapp_json_body")
    if outcome is None:
        try:
            outcome = _read()
        except AuthError as exc:
            outcome = exc
        g.authapp_json_body = outcome
    if isinstance(outcome, AuthError):
        raise outcome
    return outcome


def json_body_or_none() -> dict[str, Any] | None:
    """The JSON object, or None when :func:`json_body` refuses the body (it never raises)."""
    try:
        return json_body()
    except AuthError:
        return None


def parse_body(model: type[Model]) -> Model:
    """The body validated by ``model``: unknown fields ignored, wrong ones a 422 per field."""
    body = json_body()
    try:
        return model.model_validate(body)
    except SchemaError as exc:
        raise ValidationFailed(field_errors(exc, body)) from exc


def field_errors(exc: SchemaError, body: dict[str, Any]) -> dict[str, list[str]]:
    """pydantic's errors as ``{field: [messages]}``; a null counts as a missing field."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        kind = "missing" if body.get(field, ...) is None else error["type"]
        message = MESSAGES.get(kind, error["msg"])
        errors.setdefault(field, [])
        if message not in errors[field]:
            errors[field].append(message)
    return errors


def _read() -> dict[str, Any]:
    if not is_json_media_type(request.mimetype):
        raise UnsupportedMediaType("Send the body as JSON with Content-Type: application/json.")
    raw = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
    if not raw.strip():
        raise InvalidJSON("The request body is empty.")
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise InvalidJSON("The request body is not valid UTF-8.") from exc
    except RecursionError as exc:
        raise InvalidJSON("The JSON document is nested too deeply.") from exc
    except ValueError as exc:
        raise InvalidJSON(f"The request body is not valid JSON: {exc}.") from exc
    _check_document(document, current_app.config["MAX_JSON_DEPTH"])
    if not isinstance(document, dict):
        raise ValidationFailed({"body": ["Send a JSON object."]})
    return document


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in JSON")


def _check_document(document: Any, max_depth: int) -> None:
    """Reject absurd nesting and lone surrogates, iteratively (no recursion)."""
    stack = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            raise InvalidJSON(f"The JSON document is nested deeper than {max_depth} levels.")
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidJSON("The JSON contains invalid Unicode (a lone surrogate).") from exc
