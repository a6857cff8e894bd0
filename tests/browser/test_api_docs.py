"""GET /api/docs in a real browser: Swagger UI renders the document under the site's CSP."""

import pytest
from playwright.sync_api import expect
from support.browser import screenshot

pytestmark = [pytest.mark.live,
              pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


def test_the_api_docs_page_renders_every_operation_without_csp_violations(server, new_context,
                                                                         watch):
    page = new_context(server).new_page()
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("authapp")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    paths = page.request.get("/api/openapi.json").json()["paths"]
    assert operations.count() == sum(len(methods) for methods in paths.values())
    expect(page.get_by_text("/api/auth/login", exact=True)).to_be_visible()
    screenshot(page, "api-docs")


def test_an_operation_opens_with_its_schemas(server, new_context, watch):
    page = new_context(server).new_page()
    page.goto("/api/docs")
    login = page.locator(".opblock-post", has=page.get_by_text("/api/auth/login", exact=True))
    login.locator(".opblock-summary").click()
    expect(login.locator(".responses-table")).to_contain_text("422")
    expect(login.locator(".body-param, .opblock-section-request-body")).to_be_visible()
