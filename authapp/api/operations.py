"""What each API route declares about itself, for the OpenAPI document.

``@operation(...)`` sits right under the route decorator. The problems a
route can answer follow from what it declares: a body (400, 413, 415, 422),
a token (401, 403), a path parameter (404), a rate limit (429, found on the
view itself), the database (503); ``problems`` adds the route's own.
``parameters`` adds request headers the route reads (OpenAPI parameter
objects) and ``headers`` the response headers it sends, per status.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

Auth = Literal["access", "refresh"]
ATTRIBUTE = "authapp_operation"


@dataclass(frozen=True)
class Content:
    """A success answer that is not one of our JSON models (the document, the docs page)."""

    media_type: str
    schema: dict[str, Any]


Answer = type[BaseModel] | Content | None  # None: no body (204)


@dataclass(frozen=True)
class Operation:
    summary: str
    answers: dict[int, Answer]
    body: type[BaseModel] | None = None
    auth: Auth | None = None
    problems: tuple[int, ...] = ()
    database: bool = True
    description: str = ""
    links: dict[int, dict[str, Any]] = field(default_factory=dict)  # OpenAPI links per status
    parameters: tuple[dict[str, Any], ...] = ()
    headers: dict[int, dict[str, Any]] = field(default_factory=dict)


def operation(summary: str, *, answers: dict[int, Answer], body: type[BaseModel] | None = None,
              auth: Auth | None = None, problems: tuple[int, ...] = (), database: bool = True,
              description: str = "", links: dict[int, dict[str, Any]] | None = None,
              parameters: tuple[dict[str, Any], ...] = (),
              headers: dict[int, dict[str, Any]] | None = None,
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the route's answers, body and credentials (see the module docstring)."""
    declared = Operation(summary, answers, body, auth, problems, database, description,
                         links or {}, parameters, headers or {})

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        setattr(view, ATTRIBUTE, declared)
        return view

    return decorate


def declared_operation(view: Callable[..., Any]) -> Operation | None:
    return getattr(view, ATTRIBUTE, None)
