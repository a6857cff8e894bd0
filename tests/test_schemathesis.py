"""The live API fuzzed from its own OpenAPI document (SPEC §14), with schemathesis.

Each operation gets a few dozen generated requests, valid and invalid, from a
fixed seed; every answer must be no 5xx and match the documented status codes,
content types, headers and schemas. A stateful run follows the document's
links (sign in → me / sessions / refresh → me). Rate limits are off, as in
every test app that does not ask for them.
"""

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from support.api import AuthActions

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
SEED = 20260516
FUZZ = settings(max_examples=25, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(app: Flask) -> schemathesis.schemas.BaseSchema:
    """The app's own document, loaded through the app; each request signs in afresh.

    A fresh sign-in per request, because the fuzzed sign-outs and password changes
    revoke the session they are sent with.
    """
    actions = AuthActions(app.test_client())
    actions.register("fuzzer")
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)

    @schema.auth(refresh_interval=None)
    class FreshSignIn:
        def get(self, case, context):
            return actions.login("fuzzer")

        def set(self, case, data, context):
            token = (data.refresh_token if case.operation.path == "/api/auth/refresh"
                     else data.access_token)
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

    return schema


def test_every_operation_answers_as_documented(api_schema):
    for result in api_schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @seed(SEED)
        @FUZZ
        @given(case=cases)
        def answers_as_documented(case):
            case.call_and_validate(checks=CHECKS)

        answers_as_documented()


def test_following_the_links_answers_as_documented(api_schema):
    machine = api_schema.as_state_machine()
    machine.run(settings=settings(max_examples=20, stateful_step_count=5, deadline=None,
                                  derandomize=True, suppress_health_check=list(HealthCheck)))
