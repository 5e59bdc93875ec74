"""The learners' page: a learner signed in by their platform's link sees the groups open to them
(only their modules), with seats and windows, and joins, queues, switches and leaves, on a
phone's width, by the API's own rules; staff pages are not theirs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from studentgroups.tables.groups import Group
from tests.browsers import browser, screenshot, serious_accessibility_faults
from tests.console.helpers import csrf_of
from tests.factories import Tenant, unique

__all__ = ["browser"]  # the fixture, used by name


def _module_with_labs(tenant: Tenant, learners: list[str], seats: int = 2) -> dict[str, Any]:
    module = tenant.post("/modules", json={"code": unique("LRN"), "name": "Learning"}).json()
    tenant.post("/students", json=[{"uid": u, "name": u.title()} for u in learners])
    tenant.post(f"/modules/{module['id']}/roster", json={"uids": learners})
    labs = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Labs"}).json()
    for name in ("Lab A", "Lab B"):
        made = tenant.post(
            f"/modules/{module['id']}/groups",
            json={
                "name": name,
                "parent_group_id": labs["id"],
                "self_enrol": True,
                "max_user": seats,
                "waitlist": True,
            },
        )
        assert made.status_code == 200, made.text
    return dict(module)


def _learner_link(tenant: Tenant, uid: str) -> str:
    made = tenant.post("/console/sign_in_links", json={"student_uid": uid})
    assert made.status_code == 200, made.text
    return str(made.json()["url"])


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 360, "height": 780}, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def test_a_learner_joins_switches_queues_and_leaves_on_a_phone(phone: Page, tenant: Tenant) -> None:
    ada, bob, cy = (unique(n) for n in ("ada", "bob", "cy"))
    module = _module_with_labs(tenant, [ada, bob, cy])
    other = tenant.post("/modules", json={"code": unique("NOT"), "name": "Not theirs"}).json()
    phone.goto(_learner_link(tenant, ada))
    assert phone.url.endswith("/console/learn")
    assert phone.locator("h1").text_content() == "Groups open to you"
    text = phone.locator("main").text_content() or ""
    assert module["code"] in text
    assert other["code"] not in text
    assert "0 of 2 seats taken" in text
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    serious, report = serious_accessibility_faults(phone)
    assert serious == [], report
    screenshot(phone, "learn-phone")

    phone.get_by_role("button", name="Join Lab A").click()
    assert phone.get_by_role("status").text_content() == "You joined Lab A."
    phone.get_by_role("button", name="Switch to Lab B").click()
    assert phone.get_by_role("status").text_content() == "You left Lab A for Lab B."
    tenant.post(f"/modules/{module['id']}/enrolment/groups/{_by_name(tenant, 'Lab A', module)}/join", json={})
    for uid in (bob, cy):  # Lab A fills with the two others, through their own links
        other_phone = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=True)
        page = other_phone.get(_learner_link(tenant, uid))
        other_phone.post(
            f"/console/learn/{_by_name(tenant, 'Lab A', module)}/join", data={"csrf": csrf_of(page.text)}
        )
    phone.reload()
    phone.get_by_role("button", name="Join the waiting list of Lab A").click()
    assert phone.get_by_role("status").text_content() == "You are number 1 in the waiting list of Lab A."
    phone.get_by_role("button", name="Leave the waiting list").click()
    phone.get_by_role("button", name="Leave").click()
    assert phone.get_by_role("status").text_content() == "You left Lab B."
    phone.goto(phone.url.replace("/console/learn", f"/console/modules/{module['id']}").split("?")[0])
    assert "learner's key" in (phone.get_by_role("alert").text_content() or "")  # the error page
    serious, report = serious_accessibility_faults(phone)
    assert serious == [], report


def _by_name(tenant: Tenant, name: str, module: dict[str, Any]) -> int:
    with tenant.sessions() as session:
        found = session.scalar(select(Group.id).where(Group.module_id == module["id"], Group.name == name))
    assert found is not None
    return int(found)


def test_a_learners_session_reaches_no_staff_page_and_acts_for_its_own_student_only(tenant: Tenant) -> None:
    ada, bob = unique("ada"), unique("bob")
    module = _module_with_labs(tenant, [ada, bob])
    learner = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    assert learner.get(_learner_link(tenant, ada)).headers["location"] == "/console/learn"
    assert learner.get("/console/modules").headers["location"] == "/console/learn"
    assert learner.get(f"/console/modules/{module['id']}").status_code == 403
    roster = module["roster_group_id"]
    assert learner.get(f"/console/groups/{roster}/form").status_code in (403, 404)
    page = learner.get("/console/learn")
    assert bob not in page.text  # no one else's name on a learner's page
    lab = _by_name(tenant, "Lab A", module)
    joined = learner.post(f"/console/learn/{lab}/join", data={"csrf": csrf_of(page.text)})
    assert joined.status_code == 303
    members = tenant.get(f"/student_groups/{lab}/students").json()
    assert [m["uid"] for m in members] == [ada]
    assert learner.post(f"/console/learn/{lab}/leave", data={}).status_code == 403  # no token
