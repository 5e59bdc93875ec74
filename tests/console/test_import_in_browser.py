"""Importing a roster CSV in the console, in Chromium: the upload's progress shown as it goes, its
summary at the end; a bad file's lines named with their column and rule, nothing written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, FilePayload, Page

from tests.browsers import browser, screenshot, serious_accessibility_faults
from tests.console.helpers import csrf_of, sign_in_link, signed_in_client
from tests.factories import Tenant, unique

__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


def _csv(rows: int, bad_line: int | None = None) -> bytes:
    lines = ["uid,name,sexe,score"]
    for i in range(rows):
        sexe = "maybe" if bad_line is not None and i + 2 == bad_line else "female"
        lines.append(f"imp-{i:05d},Student {i},{sexe},{i % 100}")
    return ("\n".join(lines) + "\n").encode()


def _open_import(page: Page, tenant: Tenant) -> dict[str, Any]:
    module = tenant.post("/modules", json={"code": unique("IMP"), "name": "Importing"}).json()
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    page.get_by_role("link", name="Import a roster CSV").click()
    return dict(module)


def test_a_roster_file_imports_with_its_progress_shown(page: Page, tenant: Tenant) -> None:
    module = _open_import(page, tenant)
    serious, report = serious_accessibility_faults(page)
    assert serious == [], report
    page.get_by_label("The CSV file").set_input_files(
        files=FilePayload(name="roster.csv", mimeType="text/csv", buffer=_csv(3_000))
    )
    page.get_by_role("button", name="Import").click()
    status = page.get_by_role("status")
    status.wait_for(timeout=60_000)
    assert (
        status.text_content()
        == f"3000 students on the roster of {module['code']} (3000 new students created, 0 already on it)"
    )
    assert page.locator(".steps progress").count() >= 2  # checking lines, then writing
    assert page.locator(".steps").text_content().count("3000 of 3000") >= 1  # type: ignore[union-attr]
    serious, report = serious_accessibility_faults(page)
    assert serious == [], report
    screenshot(page, "import")
    roster = tenant.get(f"/modules/{module['id']}/roster", params={"limit": 1})
    assert roster.headers["x-total-count"] == "3000"


def test_a_bad_line_is_named_and_nothing_is_written(page: Page, tenant: Tenant) -> None:
    module = _open_import(page, tenant)
    page.get_by_label("The CSV file").set_input_files(
        files=FilePayload(name="roster.csv", mimeType="text/csv", buffer=_csv(50, bad_line=7))
    )
    page.get_by_role("button", name="Import").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "line 7, column sexe" in (alert.text_content() or "")
    assert "nothing was written" in (alert.text_content() or "")
    assert tenant.get(f"/modules/{module['id']}/roster").json() == []


def test_an_import_needs_its_token_and_a_manager(tenant: Tenant) -> None:
    module = tenant.post("/modules", json={"code": unique("IMP"), "name": "Importing"}).json()
    admin = signed_in_client(tenant, role="admin")
    page = admin.get(f"/console/modules/{module['id']}/import")
    files = {"file": ("roster.csv", _csv(3), "text/csv")}
    assert admin.post(f"/console/modules/{module['id']}/import", files=files).status_code == 403
    outsider = signed_in_client(tenant, user=unique("outsider"))
    other = outsider.get("/console/modules")
    refused = outsider.post(
        f"/console/modules/{module['id']}/import", files=files, data={"csrf": csrf_of(other.text)}
    )
    assert refused.status_code == 403
    assert tenant.get(f"/modules/{module['id']}/roster").json() == []
    done = admin.post(
        f"/console/modules/{module['id']}/import", files=files, data={"csrf": csrf_of(page.text)}
    )
    assert done.status_code == 200
    assert "3 students on the roster" in done.text
    events = tenant.get("/audit_events", params={"limit": 200}).json()
    assert any(e["operation"] == "import_roster" and e["actor"] == "teacher" for e in events)


def test_the_progress_arrives_in_pieces_before_the_summary(tenant: Tenant) -> None:
    module = tenant.post("/modules", json={"code": unique("IMP"), "name": "Importing"}).json()
    admin = signed_in_client(tenant, role="admin")
    page = admin.get(f"/console/modules/{module['id']}/import")
    files = {"file": ("roster.csv", _csv(5_000), "text/csv")}
    with admin.stream(
        "POST", f"/console/modules/{module['id']}/import", files=files, data={"csrf": csrf_of(page.text)}
    ) as answer:
        pieces = [piece for piece in answer.iter_text() if piece]
    assert len(pieces) >= 3
    assert "<h1>Importing roster.csv" in pieces[0]
    assert "students on the roster" not in pieces[0]
    assert "5000 students on the roster" in pieces[-1] or "5000 students on the roster" in "".join(
        pieces[-2:]
    )
