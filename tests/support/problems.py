"""What every problem+json answer must look like (SPEC §6)."""

from collections.abc import Collection
from typing import Any

from werkzeug.test import TestResponse

PROBLEM_JSON = "application/problem+json"
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
REALM = 'Bearer realm="authapp"'
NO_COOKIE_STATUSES = {400, 413, 415, 422}


def assert_problem(response: TestResponse, status: int,
                   code: str | Collection[str]) -> dict[str, Any]:
    """A problem+json answer with ``status`` and ``code`` (or one of several codes).

    Also the contract's shape: every member, no stack trace, the RFC 6750 challenge on a 401,
    and no cookie on an answer that refuses the request body. Returns the body.
    """
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == PROBLEM_JSON, response.mimetype
    body = response.json
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status, body
    assert body["code"] in ({code} if isinstance(code, str) else code), body
    assert "Traceback" not in text
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith(REALM), response.headers
    if status in NO_COOKIE_STATUSES:
        assert response.headers.getlist("Set-Cookie") == [], response.headers
    return body
