"""The console in a real browser (Debian's Chromium, headless, Playwright): signed in by a link or
by keyboard alone with a key, the modules and a module's page as staff read them, each page
without a serious accessibility fault (axe-core), and nothing the page could not load."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browsers import browser, screenshot, serious_accessibility_faults
from tests.console.helpers import sign_in_link
from tests.factories import Tenant, unique
from tests.live_server import LiveServer

__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    failures: list[str] = []
    # What a page loads must load (a page's own status, 401 for a wrong key, is the page's word).
    opened.on(
        "response",
        lambda r: (
            failures.append(f"{r.url}: {r.status}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    # A request the page's own navigation cut short (a download, a click before the icon came) is no failure.
    opened.on(
        "requestfailed",
        lambda request: (
            failures.append(f"{request.url}: {request.failure}")
            if "ERR_ABORTED" not in (request.failure or "")
            else None
        ),
    )
    opened.on("pageerror", lambda error: failures.append(str(error)))
    yield opened
    context.close()
    assert failures == [], "the page logged errors or could not load what it needs"


def _course(tenant: Tenant) -> dict[str, Any]:
    module = tenant.post("/modules", json={"code": unique("CS"), "name": "Programming Methodology"}).json()
    tenant.post(
        "/students",
        json=[{"uid": f"u{i:02d}", "name": f"Student {i:02d}"} for i in range(60)],
    )
    tenant.post(f"/modules/{module['id']}/roster", json={"uids": [f"u{i:02d}" for i in range(60)]})
    tutorials = tenant.post(
        f"/modules/{module['id']}/groups", json={"name": "Tutorials", "max_user": 60}
    ).json()
    for name in ("T1", "T2"):
        made = tenant.post(
            f"/modules/{module['id']}/groups",
            json={"name": name, "parent_group_id": tutorials["id"], "max_user": 30, "self_enrol": True},
        )
        assert made.status_code == 200, made.text
    return dict(module)


def _no_serious_faults(page: Page) -> None:
    serious, report = serious_accessibility_faults(page)
    assert serious == [], report


def test_a_link_opens_the_modules_and_a_modules_page(page: Page, tenant: Tenant) -> None:
    module = _course(tenant)
    page.goto(sign_in_link(tenant, user="ada", role="admin"))
    assert page.url.endswith("/console/modules")
    assert page.locator("h1").text_content() == "Modules"
    _no_serious_faults(page)
    screenshot(page, "modules")
    page.get_by_label("Search by code or name").fill(module["code"])
    page.get_by_role("button", name="Search").click()
    assert page.locator("tbody tr").count() == 1
    page.get_by_role("link", name=module["code"]).click()
    assert page.locator("h1").text_content().startswith(module["code"])  # type: ignore[union-attr]
    groups = page.locator("table.groups tbody tr")
    names = [groups.nth(i).locator("th .name").text_content() for i in range(groups.count())]
    assert names == ["Student Roster", "Guest Group", "Tutorials", "T1", "T2"]
    assert "60" in groups.nth(0).text_content()  # type: ignore[operator]
    assert "0 of 30" in groups.nth(3).text_content()  # type: ignore[operator]
    assert "self-enrolment" in groups.nth(3).text_content()  # type: ignore[operator]
    assert "Roster (60)" in page.get_by_role("navigation", name="Roster or guests").text_content()  # type: ignore[operator]
    assert page.locator("text=60 students").count() == 1
    assert page.get_by_role("link", name="Next").count() == 1  # 50 a page
    _no_serious_faults(page)
    screenshot(page, "module")
    page.get_by_label("Search the roster by uid or name").fill("Student 5")
    page.get_by_role("button", name="Search").click()
    assert page.locator("text=10 students matching").count() == 1
    page.get_by_role("button", name="Sign out").click()
    assert page.url.endswith("/console/sign-in")
    _no_serious_faults(page)
    screenshot(page, "sign-in")


def test_signing_in_with_a_key_by_keyboard_alone(page: Page, tenant: Tenant, server: LiveServer) -> None:
    page.goto(f"{server.url}/console/sign-in")
    for _ in range(5):  # the skip link and the header come first
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "key":
            break
    assert page.evaluate("document.activeElement.id") == "key"
    page.keyboard.type(tenant.key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/modules")
    assert page.locator("h1").text_content() == "Modules"


def test_a_wrong_key_says_so_on_the_page(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/console/sign-in")
    page.get_by_label("API key").fill("sg_not_a_key")
    page.get_by_role("button", name="Sign in").click()
    assert "unknown or revoked" in page.get_by_role("alert").text_content()  # type: ignore[operator]
    _no_serious_faults(page)


def test_the_pages_fit_a_phone(browser: Browser, tenant: Tenant) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    phone = context.new_page()
    module = _course(tenant)
    phone.goto(sign_in_link(tenant, role="admin"))
    phone.goto(phone.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    screenshot(phone, "module-phone")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width}px wide on a 360px screen"
    context.close()


def _formed(tenant: Tenant, module: dict[str, Any], seed: int) -> dict[str, Any]:
    roster_id = tenant.get(f"/modules/{module['id']}").json()["roster_group_id"]
    formed = tenant.post(
        f"/student_groups/{roster_id}/formations",
        json={
            "strategy": "random",
            "seed": seed,
            "create": {"count": 3, "name_pattern": "Team #"},
            "save": True,
        },
    )
    assert formed.status_code == 200, formed.text
    return dict(formed.json())


def test_the_history_undoes_a_formation_and_says_why_it_cannot_undo_another(
    page: Page, tenant: Tenant
) -> None:
    module = _course(tenant)
    first = _formed(tenant, module, seed=1)
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    page.get_by_role("link", name="History of its formations, with undo").click()
    assert page.locator("h1").text_content() == f"History of {module['code']}"
    _no_serious_faults(page)
    screenshot(page, "history")
    page.get_by_role("button", name=f"Undo formation {first['formation_id']}").click()
    assert page.get_by_role("status").text_content() == f"Formation {first['formation_id']} was undone."
    assert "undone" in page.locator("tbody tr").first.text_content()  # type: ignore[operator]
    second = _formed(tenant, module, seed=2)
    third = _formed(tenant, module, seed=3)
    page.reload()
    page.get_by_role("button", name=f"Undo formation {second['formation_id']}").click()
    alert = page.get_by_role("alert").text_content() or ""
    assert f"The groups changed since formation {second['formation_id']}" in alert
    assert "added: student" in alert
    _no_serious_faults(page)
    assert third["formation_id"] > second["formation_id"]


def test_a_grouping_downloads_as_the_api_exports_it(page: Page, tenant: Tenant) -> None:
    module = _course(tenant)
    _formed(tenant, module, seed=4)
    roster_id = tenant.get(f"/modules/{module['id']}").json()["roster_group_id"]
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the grouping of Student Roster as CSV").click()
    with open(download.value.path(), encoding="utf-8", newline="") as saved:
        text = saved.read()
    assert text == tenant.get(f"/student_groups/{roster_id}/grouping.csv").text
    assert text.count("\r\n") == 61  # the header and the 60 students


def test_results_show_the_figures_the_api_gives_and_the_sub_groups_side_by_side(
    page: Page, tenant: Tenant
) -> None:
    module = _course(tenant)
    _formed(tenant, module, seed=5)
    roster_id = tenant.get(f"/modules/{module['id']}").json()["roster_group_id"]
    students = {
        s["uid"]: s["id"] for s in tenant.get(f"/modules/{module['id']}/roster", params={"limit": 100}).json()
    }
    body = [
        {"student_id": sid, "item": "quiz", "score": (i * 7) % 11, "max_score": 10}
        for i, sid in enumerate(students.values())
    ]
    assert tenant.post("/results", json=body).status_code == 200
    api = tenant.get(f"/student_groups/{roster_id}/results", params={"include_subgroups": "true"}).json()
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    page.get_by_role("link", name="Results of Student Roster").click()
    assert page.locator("h1").text_content() == "Results of Student Roster"
    figures = page.locator(".figures")
    assert f"{100 * api['mean_score']:.0f}%" in (figures.text_content() or "")
    assert str(api["members_with_results"]) in (figures.text_content() or "")
    assert page.locator("svg.histogram rect").count() == len(api["histogram"])
    assert page.locator("svg.compare circle").count() == 3  # Team 1, 2, 3
    _no_serious_faults(page)
    screenshot(page, "results")


def test_self_enrolment_seats_a_changed_limit_and_the_allocation_run_now(page: Page, tenant: Tenant) -> None:
    module = _course(tenant)  # Tutorials: T1 and T2 take self-enrolment, 30 seats each
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    page.get_by_role("link", name="Self-enrolment in Tutorials").click()
    assert page.locator("h1").text_content() == "Self-enrolment in Tutorials"
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert "0 of 30" in (rows.nth(0).text_content() or "")
    _no_serious_faults(page)
    screenshot(page, "enrolment")
    page.get_by_label("Limit").first.fill("25")
    page.get_by_role("button", name="Change T1").click()
    assert "0 of 25" in (page.locator("tbody tr").nth(0).text_content() or "")
    page.get_by_role("button", name="Run the allocation now").click()
    said = page.get_by_role("status").text_content() or ""
    assert said.startswith("55 placed, 5 without room; formation ")  # 25 in T1, 30 in T2
    assert "25 of 25" in (page.locator("tbody tr").nth(0).text_content() or "")
    assert "30 of 30" in (page.locator("tbody tr").nth(1).text_content() or "")
