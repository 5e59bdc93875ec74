"""/docs in a real browser: Debian's Chromium, headless, driven by Playwright, offline.

It renders the whole OpenAPI 3.1 document, lists every operation, and "Try it out" calls the
service with a key; axe-core finds no serious accessibility fault in the page we serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browsers import browser, serious_accessibility_faults
from tests.factories import Tenant
from tests.live_server import LiveServer

__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture
def docs(browser: Browser, server: LiveServer) -> Iterator[Page]:
    context = browser.new_context()
    page = context.new_page()
    failures: list[str] = []
    page.on("console", lambda message: failures.append(message.text) if message.type == "error" else None)
    page.on("requestfailed", lambda request: failures.append(f"{request.url}: {request.failure}"))
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".opblock", timeout=60_000)
    yield page
    context.close()
    assert failures == [], "the page logged errors or could not load what it needs"


def _operations(http: httpx.Client) -> list[tuple[str, str]]:
    spec: dict[str, Any] = http.get("/openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def test_docs_render_every_operation_of_the_document(docs: Page, http: httpx.Client) -> None:
    assert "Unable to render this definition" not in docs.content()
    shown = docs.eval_on_selector_all(
        ".opblock",
        "blocks => blocks.map(b => [b.querySelector('.opblock-summary-method').textContent.trim(),"
        " b.querySelector('.opblock-summary-path').getAttribute('data-path')])",
    )
    assert sorted(tuple(op) for op in shown) == sorted(_operations(http))


def test_try_it_out_calls_the_service_with_a_key(docs: Page, tenant: Tenant) -> None:
    tenant.group("seen from the docs")
    docs.click("button.authorize")
    dialog = docs.locator(".modal-ux")
    section = dialog.locator(".auth-container", has_text="X-API-Key")
    section.locator("input").fill(tenant.key)
    section.locator("button.authorize").click()
    dialog.locator("button.btn-done").first.click()
    operation = docs.locator("#operations-Student_groups-list_student_groups_student_groups_get")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=30_000)
    assert status.text_content().strip() == "200"  # type: ignore[union-attr]
    assert "seen from the docs" in operation.locator(".live-responses-table").text_content()  # type: ignore[operator]


def test_the_docs_page_has_no_serious_accessibility_fault(docs: Page) -> None:
    serious, report = serious_accessibility_faults(docs)
    assert serious == [], report
