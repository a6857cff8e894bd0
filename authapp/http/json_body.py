"""Strict JSON request bodies: content type, encoding, depth, then fields."""

import json
from typing import Any

from flask import current_app, request

from authapp.core.errors import InvalidJSON, UnsupportedMediaType, ValidationFailed


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 415/400/413/422 with a clear reason."""
    mimetype = request.mimetype
    if mimetype != "application/json" and not mimetype.endswith("+json"):
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


def string_fields(body: dict[str, Any], *names: str) -> list[str]:
    """The named fields as strings, or one 422 listing every missing or mistyped one."""
    errors = {}
    for name in names:
        value = body.get(name)
        if value is None:
            errors[name] = ["This field is required."]
        elif not isinstance(value, str):
            errors[name] = ["Must be a string."]
    if errors:
        raise ValidationFailed(errors)
    return [body[name] for name in names]


def bool_field(body: dict[str, Any], name: str, default: bool = False) -> bool:
    """An optional boolean field, or a 422 if it is not a boolean."""
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise ValidationFailed({name: ["Must be true or false."]})
    return value
