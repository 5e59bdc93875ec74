"""What a review of the console found, each proved refused: a learner forming or undoing, a
read-only learner enrolling, a learner's admin link, staff changing the attributes of students
of modules they do not manage by an import, and form values that must be a 400, not a 500."""

from __future__ import annotations

from typing import Any

import httpx

from tests.console.helpers import csrf_of, signed_in_client
from tests.factories import Tenant, unique


def _learner(tenant: Tenant, uid: str, role: str = "staff") -> tuple[httpx.Client, str]:
    link = tenant.post("/console/sign_in_links", json={"student_uid": uid, "role": role}).json()["url"]
    browser = httpx.Client(base_url=str(tenant.http.base_url), follow_redirects=False)
    assert browser.get(link).status_code == 303
    return browser, browser.get("/console/learn").text


def _members_manage_group(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any], str]:
    module = tenant.post("/modules", json={"code": unique("RG"), "name": "Rights"}).json()
    uid = unique("lea")
    tenant.post("/students", json=[{"uid": uid}])
    tenant.post(f"/modules/{module['id']}/roster", json={"uids": [uid]})
    group = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Project", "group_access": 3}).json()
    student = next(s for s in tenant.get("/students", params={"limit": 500}).json() if s["uid"] == uid)
    assert (
        tenant.post(
            f"/student_groups/{group['id']}/students", json={"student_ids": [student["id"]]}
        ).status_code
        == 200
    )
    return module, group, uid


def test_a_learner_neither_forms_nor_undoes(tenant: Tenant) -> None:
    module, group, uid = _members_manage_group(tenant)
    browser, page = _learner(tenant, uid)
    assert browser.get(f"/console/groups/{group['id']}/form").status_code == 403
    made = browser.post(
        f"/console/groups/{group['id']}/preview",
        data={"csrf": csrf_of(page), "strategy": "random", "count": "2"},
    )
    assert made.status_code == 403
    assert tenant.get(f"/student_groups/{group['id']}/grouping").json() == []
    refused = browser.post(f"/console/modules/{module['id']}/history/1/undo", data={"csrf": csrf_of(page)})
    assert refused.status_code == 403


def test_a_read_only_learner_does_not_enrol_and_no_learner_link_is_admin(tenant: Tenant) -> None:
    module, _, uid = _members_manage_group(tenant)
    labs = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Labs"}).json()
    lab = tenant.post(
        f"/modules/{module['id']}/groups",
        json={"name": "L", "parent_group_id": labs["id"], "self_enrol": True},
    ).json()
    browser, page = _learner(tenant, uid, role="read-only")
    assert browser.post(f"/console/learn/{lab['id']}/join", data={"csrf": csrf_of(page)}).status_code == 403
    assert tenant.get(f"/student_groups/{lab['id']}/students").json() == []
    admin = tenant.post("/console/sign_in_links", json={"student_uid": uid, "role": "admin"})
    assert admin.status_code == 400


def test_an_import_does_not_change_the_attributes_of_another_modules_students(tenant: Tenant) -> None:
    mine = tenant.post("/modules", json={"code": unique("MINE"), "name": "Mine"}).json()
    theirs = tenant.post("/modules", json={"code": unique("THEIRS"), "name": "Theirs"}).json()
    uid = unique("x")
    tenant.post("/students", json=[{"uid": uid, "attributes": {"score": 1}}])
    tenant.post(f"/modules/{theirs['id']}/roster", json={"uids": [uid]})
    tenant.post(f"/modules/{mine['id']}/staff", json={"users": ["t1"]})
    staff = signed_in_client(tenant, user="t1")
    page = staff.get(f"/console/modules/{mine['id']}/import")
    files = {"file": ("roster.csv", f"uid,score\n{uid},99\n".encode(), "text/csv")}
    answer = staff.post(
        f"/console/modules/{mine['id']}/import", files=files, data={"csrf": csrf_of(page.text)}
    )
    assert "which this key&#39;s user does not manage" in answer.text
    student = next(s for s in tenant.get("/students", params={"limit": 500}).json() if s["uid"] == uid)
    assert student["attributes"] == {"score": 1}
    assert tenant.get(f"/modules/{mine['id']}/roster").json() == []


def test_odd_form_values_are_a_400_and_an_empty_limit_means_none(tenant: Tenant) -> None:
    module = tenant.post("/modules", json={"code": unique("ODD"), "name": "Odd"}).json()
    labs = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Labs"}).json()
    lab = tenant.post(
        f"/modules/{module['id']}/groups",
        json={"name": "L", "parent_group_id": labs["id"], "self_enrol": True},
    ).json()
    admin = signed_in_client(tenant, role="admin")
    page = admin.get(f"/console/groups/{labs['id']}/enrolment").text
    path = f"/console/groups/{labs['id']}/enrolment/{lab['id']}"
    assert admin.post(path, data={"max_user": "²", "csrf": csrf_of(page)}).status_code == 400
    assert (
        admin.post(
            path, data={"max_user": "", "opens": "2030-01-01T10:00", "csrf": csrf_of(page)}
        ).status_code
        == 303
    )
    form = admin.get(f"/console/groups/{module['roster_group_id']}/form").text
    for fields in (
        {"count": "²"},
        {"count": "2", "name_pattern": "a\nb"},
        {"count": "2", "name_pattern": "x" * 300},
    ):
        odd = admin.post(
            f"/console/groups/{module['roster_group_id']}/preview", data={"csrf": csrf_of(form), **fields}
        )
        assert odd.status_code == 400, fields
    nul = admin.post(
        f"/console/groups/{module['roster_group_id']}/preview",
        data={"csrf": csrf_of(form), "keep_apart": "a\x00"},
    )
    assert nul.status_code == 400
