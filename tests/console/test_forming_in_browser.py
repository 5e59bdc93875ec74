"""Forming groups in the console, in Chromium: the form, a balanced preview with its quality
drawn, a member moved by keyboard and one by dragging (the report follows each move), and the
save, which keeps exactly the grouping the page showed; axe-core on every page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.browsers import browser, screenshot, serious_accessibility_faults
from tests.console.helpers import sign_in_link
from tests.factories import Tenant, unique

__all__ = ["browser"]  # the fixture, used by name


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    # Tall enough that nothing scrolls while a member is dragged (a scroll between the press and
    # the first move would start the drag on whatever then lies under the pointer).
    context = browser.new_context(viewport={"width": 1280, "height": 2400})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on(
        "response",
        lambda r: (
            errors.append(f"{r.url}: {r.status}")
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    yield opened
    context.close()
    assert errors == []


def _module(tenant: Tenant) -> dict[str, Any]:
    module = tenant.post("/modules", json={"code": unique("F"), "name": "Forming"}).json()
    prefix = module["code"].lower()
    students = [
        {
            "uid": f"{prefix}-{i:02d}",
            "name": f"Member {i:02d}",
            "attributes": {"score": (i * 37) % 100, "gender": "FMX"[i % 3]},
        }
        for i in range(12)
    ]
    assert tenant.post("/students", json=students).status_code == 200
    assert (
        tenant.post(
            f"/modules/{module['id']}/roster", json={"uids": [s["uid"] for s in students]}
        ).status_code
        == 200
    )
    return dict(module)


def _no_serious_faults(page: Page) -> None:
    serious, report = serious_accessibility_faults(page)
    assert serious == [], report


def _shown(page: Page) -> dict[str, list[str]]:
    value = page.locator("#grouping").input_value()
    return dict(json.loads(value))


def _uids_by_group(page: Page) -> dict[str, list[str]]:
    cards = page.locator(".card")
    return {
        str(cards.nth(i).get_attribute("data-name")): sorted(
            cards.nth(i).locator("li .uid").all_text_contents()
        )
        for i in range(cards.count())
    }


def test_form_preview_move_by_keyboard_and_by_drag_then_save_exactly_that(page: Page, tenant: Tenant) -> None:
    module = _module(tenant)
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/modules/{module['id']}"))
    page.get_by_role("link", name="Form groups in Student Roster").click()
    assert page.locator("h1").text_content() == "Form groups in Student Roster"
    _no_serious_faults(page)
    screenshot(page, "form")
    page.get_by_label("Number of new groups").fill("3")
    page.get_by_label("Names (@ is A, B, …; # is 1, 2, …)").fill("Team #")
    page.get_by_label("Numbers to balance (comma-separated)").fill("score")
    page.get_by_label("Categories to spread").fill("gender")
    page.get_by_label("Seed (empty: a new one; the same seed forms the same groups)").fill("42")
    page.get_by_role("button", name="Preview").click()
    assert page.locator("h1").text_content() == "Preview: 3 groups in Student Roster"
    assert page.locator("#report svg").count() >= 3  # score: bars and strip; gender: stacks
    assert "Hard rules broken: 0" in page.locator("#report").text_content()  # type: ignore[operator]
    _no_serious_faults(page)
    screenshot(page, "preview")
    before = _shown(page)
    assert sorted(len(v) for v in before.values()) == [4, 4, 4]

    # By keyboard alone: tick the first member of Team 1, choose Team 2, press Move.
    team = {page.locator(".card").nth(i).get_attribute("data-name"): key for i, key in enumerate(before)}
    moving = before[team["Team 1"]][0]
    page.locator(f'li[data-key="{moving}"] input.pick').focus()
    page.keyboard.press("Space")
    page.locator("#move-target").focus()
    page.keyboard.press("ArrowDown")  # Team 1 -> Team 2
    page.locator("#move-button").focus()
    page.keyboard.press("Enter")
    page.locator("#report[data-updated='1']").wait_for()
    assert page.locator("#move-said").text_content() == "1 moved to Team 2."
    after_key = _shown(page)
    assert moving in after_key[team["Team 2"]]
    assert sorted(len(v) for v in after_key.values()) == [3, 4, 5]

    # By dragging: a member of Team 3 onto Team 1's list.
    dragged = before[team["Team 3"]][0]
    page.locator(f'li[data-key="{dragged}"] .uid').drag_to(
        page.locator(f'ul.members[data-key="{team["Team 1"]}"]')
    )
    page.locator("#report[data-updated='2']").wait_for()
    after_drag = _shown(page)
    assert dragged in after_drag[team["Team 1"]]
    assert [len(after_drag[team[t]]) for t in ("Team 1", "Team 2", "Team 3")] == [4, 5, 3]
    shown = _uids_by_group(page)
    _no_serious_faults(page)

    page.get_by_role("button", name="Save these groups").click()
    assert "was saved" in (page.get_by_role("status").text_content() or "")
    roster_id = tenant.get(f"/modules/{module['id']}").json()["roster_group_id"]
    saved: dict[str, list[str]] = {}
    for row in tenant.get(f"/student_groups/{roster_id}/grouping").json():
        saved.setdefault(row["group"], []).append(row["uid"])
    assert {name: sorted(uids) for name, uids in saved.items()} == shown


def test_a_form_that_cannot_hold_says_which_field(page: Page, tenant: Tenant) -> None:
    module = _module(tenant)
    roster_id = tenant.get(f"/modules/{module['id']}").json()["roster_group_id"]
    page.goto(sign_in_link(tenant, role="admin"))
    page.goto(page.url.replace("/console/modules", f"/console/groups/{roster_id}/form"))
    page.get_by_label("Number of new groups").fill("3")
    page.get_by_label("or members per new group").fill("4")
    page.get_by_role("button", name="Preview").click()
    assert "not both" in (page.get_by_role("alert").text_content() or "")
    _no_serious_faults(page)


def _tab_to(page: Page, selector: str, most: int = 120) -> None:
    """Tab until the focus is on `selector`, as a keyboard user would; fails past `most` presses."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
            return
    raise AssertionError(f"{selector} is not reachable by Tab")


def test_keyboard_alone_signs_in_forms_moves_and_saves(page: Page, tenant: Tenant) -> None:
    module = _module(tenant)
    page.goto(str(tenant.http.base_url).rstrip("/") + "/console/sign-in")
    _tab_to(page, "#key")
    page.keyboard.type(tenant.key)
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/modules")
    _tab_to(page, f'a[href="/console/modules/{module["id"]}"]')
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/console/modules/{module['id']}")
    _tab_to(page, 'a[aria-label="Form groups in Student Roster"]')
    page.keyboard.press("Enter")
    page.wait_for_url("**/form")
    _tab_to(page, "#count")
    page.keyboard.type("2")
    _tab_to(page, "#seed")
    page.keyboard.type("9")
    page.keyboard.press("Enter")  # submits the form: the preview
    page.wait_for_url("**/preview")
    before = _shown(page)
    first_key, second_key = list(before)
    _tab_to(page, f'li[data-key="{before[first_key][0]}"] input.pick')
    page.keyboard.press("Space")
    _tab_to(page, "#move-target")  # Tab wraps round to the list above the groups
    page.keyboard.press("ArrowDown")
    _tab_to(page, "#move-button")
    page.keyboard.press("Enter")
    page.locator("#report[data-updated='1']").wait_for()
    moved = _shown(page)
    assert before[first_key][0] in moved[second_key]
    _tab_to(page, "#save button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/history?saved=*")
    roster_id = tenant.get(f"/modules/{module['id']}").json()["roster_group_id"]
    rows = tenant.get(f"/student_groups/{roster_id}/grouping").json()
    assert sorted(len([r for r in rows if r["group"] == g]) for g in {r["group"] for r in rows}) == [5, 7]
