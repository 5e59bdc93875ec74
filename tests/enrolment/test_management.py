"""Self-enrolment on the management surface: /modules/{id}/enrolment, integer ids, problem details."""

from __future__ import annotations

from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course

WINDOW = {"self_enrol_open_date": "2020-01-01T00:00:00Z", "self_enrol_close_date": "2099-01-01T00:00:00Z"}


@pytest.fixture
def course(tenant: Tenant) -> Course:
    return make_course(tenant, students=6)


def module_group(course: Course, name: str, **fields: Any) -> dict[str, Any]:
    response = course.tenant.post(f"/modules/{course.module['id']}/groups", json={"name": name, **fields})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def enrol(course: Course, group: dict[str, Any], student: dict[str, Any], **body: Any) -> Any:
    return course.tenant.post(
        f"/modules/{course.module['id']}/enrolment/groups/{group['id']}",
        json={"student_id": student["id"], **body},
    )


def test_a_module_group_is_made_and_changed_with_its_self_enrolment(course: Course) -> None:
    group = module_group(course, "T1", self_enrol=True, max_user=2, waitlist=True, **WINDOW)
    assert (group["self_enrol"], group["max_user"], group["waitlist"]) == (True, 2, True)
    assert group["self_enrol_close_date"] == "2099-01-01 00:00:00"
    changed = course.tenant.put(f"/modules/{course.module['id']}/groups/{group['id']}", json={"max_user": 3})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["max_user"], changed.json()["name"], changed.json()["waitlist"]) == (3, "T1", True)
    naive = course.tenant.post(
        f"/modules/{course.module['id']}/groups",
        json={"name": "T2", "self_enrol": True, "self_enrol_open_date": "2030-01-01T00:00:00"},
    )
    assert naive.status_code == 400
    assert naive.json()["errors"][0]["field"] == "self_enrol_open_date"


def test_join_list_and_leave_with_integer_ids(course: Course) -> None:
    group = module_group(course, "T1", self_enrol=True, max_user=1, waitlist=True, **WINDOW)
    first, second = course.roster[:2]
    joined = enrol(course, group, first)
    assert joined.status_code == 200, joined.text
    assert joined.json() == {
        "status": "joined",
        "group_id": group["id"],
        "member_count": 1,
        "max_user": 1,
        "queue_position": None,
        "left_group_id": None,
    }
    full = enrol(course, group, second)
    assert full.status_code == 409
    assert full.headers["content-type"] == "application/problem+json"
    # The management surface names fields as it does everywhere: snake_case, never LumiNUS's names.
    assert [(e["field"], e["rule"]) for e in full.json()["errors"]] == [("self_enrol", "full")]
    assert enrol(course, group, second, queue=True).json()["queue_position"] == 1

    listed = course.tenant.get(
        f"/modules/{course.module['id']}/enrolment", params={"student_id": second["id"]}
    )
    assert listed.status_code == 200, listed.text
    (seen,) = listed.json()
    assert (seen["id"], seen["state"], seen["queue_position"], seen["waiting_count"]) == (
        group["id"],
        "full",
        1,
        1,
    )

    left = course.tenant.delete(
        f"/modules/{course.module['id']}/enrolment/groups/{group['id']}", params={"student_id": first["id"]}
    )
    assert left.json()["status"] == "left"
    again = course.tenant.get(
        f"/modules/{course.module['id']}/enrolment", params={"student_id": second["id"]}
    )
    assert again.json()[0]["is_member"] is True


@pytest.mark.parametrize(
    ("fields", "rule"),
    [
        ({"self_enrol": False}, "not_self_enrol"),
        (
            {
                "self_enrol": True,
                "self_enrol_open_date": "2098-01-01T00:00:00Z",
                "self_enrol_close_date": "2099-01-01T00:00:00Z",
            },
            "window_not_open",
        ),
        (
            {
                "self_enrol": True,
                "self_enrol_open_date": "2020-01-01T00:00:00Z",
                "self_enrol_close_date": "2021-01-01T00:00:00Z",
            },
            "window_closed",
        ),
    ],
)
def test_each_refusal_names_its_rule(course: Course, fields: dict[str, Any], rule: str) -> None:
    group = module_group(course, unique("T"), **fields)
    response = enrol(course, group, course.roster[0])
    assert response.status_code == 403
    assert [e["rule"] for e in response.json()["errors"]] == [rule]


def test_a_student_off_the_roster_is_refused_by_rule(course: Course) -> None:
    group = module_group(course, "T1", self_enrol=True)
    response = enrol(course, group, course.tenant.student())
    assert response.status_code == 403
    assert [e["rule"] for e in response.json()["errors"]] == ["not_on_roster"]


def test_a_group_of_another_module_is_not_found(course: Course) -> None:
    other = make_course(course.tenant, students=1)
    group = module_group(other, "Elsewhere", self_enrol=True)
    response = enrol(course, group, course.roster[0])
    assert response.status_code == 404


def test_the_policy_and_an_allocation_on_the_management_surface(course: Course) -> None:
    parent = module_group(course, "Labs")
    subs = [
        course.tenant.post(
            f"/modules/{course.module['id']}/groups",
            json={"name": f"L{i}", "parent_group_id": parent["id"], "self_enrol": True, "max_user": 2},
        ).json()
        for i in (1, 2)
    ]
    policy = course.tenant.put(
        f"/modules/{course.module['id']}/enrolment/policy",
        json={"parent_group_id": parent["id"], "place_late_enrollees": True, "allow_multiple": False},
    )
    assert policy.status_code == 200, policy.text
    assert policy.json() == {
        "module_id": course.module["id"],
        "parent_group_id": parent["id"],
        "allow_multiple": False,
        "admit_guests": False,
        "allocate_after_close": False,
        "place_late_enrollees": True,
        "closes_at": None,
        "last_allocation": None,
    }
    null = course.tenant.put(
        f"/modules/{course.module['id']}/enrolment/policy",
        json={"parent_group_id": parent["id"], "admit_guests": None},
    )
    assert null.status_code == 400

    allocated = course.tenant.post(
        f"/modules/{course.module['id']}/enrolment/allocate",
        json={"parent_group_id": parent["id"], "save": True},
    )
    assert allocated.status_code == 200, allocated.text
    body = allocated.json()
    assert sorted(len(g["student_ids"]) for g in body["groups"]) == [2, 2]
    assert len(body["placed_student_ids"]) == 4
    assert len(body["unplaced_student_ids"]) == 2
    assert set(body["placed_student_ids"]) | set(body["unplaced_student_ids"]) == {
        s["id"] for s in course.roster
    }
    assert {g["id"] for g in body["groups"]} == {s["id"] for s in subs}


def test_only_a_manager_reads_or_sets_the_policy(course: Course) -> None:
    key = course.tenant.new_key(Role.STAFF, user=unique("teacher"))
    path = f"/modules/{course.module['id']}/enrolment/policy"
    assert course.tenant.get(path, key=key).status_code == 403
    assert course.tenant.put(path, key=key, json={"admit_guests": True}).status_code == 403
    allocate = course.tenant.post(f"/modules/{course.module['id']}/enrolment/allocate", key=key, json={})
    assert allocate.status_code == 403


def test_at_the_root_allow_multiple_is_refused(course: Course) -> None:
    response = course.tenant.put(
        f"/modules/{course.module['id']}/enrolment/policy", json={"allow_multiple": True}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "allow_multiple"


def test_a_window_that_closes_before_it_opens_is_named_in_each_surfaces_own_words(course: Course) -> None:
    group = module_group(course, "W", self_enrol=True, self_enrol_open_date="2030-02-01T00:00:00Z")
    # The rule is the service's (the open date is stored, the close date sent alone).
    changed = course.tenant.put(
        f"/modules/{course.module['id']}/groups/{group['id']}",
        json={"self_enrol_close_date": "2030-01-01T00:00:00Z"},
    )
    assert changed.status_code == 400, changed.text
    problem = changed.json()
    assert [(e["field"], e["rule"]) for e in problem["errors"]] == [("self_enrol_close_date", "after_open")]
    assert "selfEnrol" not in changed.text
    assert "self_enrol_open_date must be before self_enrol_close_date" in problem["detail"]

    luminus = course.tenant.put(
        f"/user/Groups/ClassGroups/{group['uuid']}", json={"selfEnrolCloseDate": "2030-01-01T00:00:00Z"}
    )
    assert luminus.status_code == 400, luminus.text
    message = luminus.json()
    assert isinstance(message, str)
    assert "selfEnrolOpenDate must be before selfEnrolCloseDate" in message
    assert "selfEnrolCloseDate: must be after the open date" in message
    assert "self_enrol" not in message
