"""The API docs in a real browser, as served: Swagger UI must start from the package's own
files under the content policy (a CDN would leave the page blank offline, and an inline
script would be refused)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser


def test_the_api_docs_work_offline_under_the_content_policy(
    browser: Browser,
    server: Server,
) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: elsewhere.append(r.url) if not r.url.startswith((server.url, "data:")) else None,
    )
    try:
        page.goto(server.url + "/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert {"/v1/score", "/v1/feedback"} <= set(operations)
    finally:
        context.close()
    assert not problems, problems  # a policy violation is a console error
    assert not elsewhere, elsewhere
