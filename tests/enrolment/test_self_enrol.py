"""Self-enrolment on the LumiNUS surface: windows, limits, the roster, siblings, waiting lists."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.tables.groups import Group
from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course

OPEN: dict[str, Any] = {
    "selfEnrol": True,
    "selfEnrolOpenDate": "2020-01-01T00:00:00Z",
    "selfEnrolCloseDate": "2099-01-01T00:00:00Z",
}
NOT_YET: dict[str, Any] = {
    "selfEnrol": True,
    "selfEnrolOpenDate": "2098-01-01T00:00:00Z",
    "selfEnrolCloseDate": "2099-01-01T00:00:00Z",
}
CLOSED: dict[str, Any] = {
    "selfEnrol": True,
    "selfEnrolOpenDate": "2020-01-01T00:00:00Z",
    "selfEnrolCloseDate": "2021-01-01T00:00:00Z",
}


@dataclass
class Cohort:
    """A course with a parent class group and self-enrol sub-groups under it."""

    course: Course
    parent: dict[str, Any]

    @property
    def tenant(self) -> Tenant:
        return self.course.tenant

    def groups(self, *names: str, **fields: Any) -> list[dict[str, Any]]:
        return self.course.add_class_groups(*names, parent=self.parent["id"], **{**OPEN, **fields})

    def offers(self, user: str, **params: Any) -> Any:
        return self.tenant.get(
            f"/user/Resource/{self.course.resource_id}/Group/SelfEnrol",
            params={"parentGroupID": self.parent["id"], "userID": user, **params},
        )

    def policy(self, **fields: Any) -> dict[str, Any]:
        response = self.tenant.put(
            "/user/Groups/SelfEnrol/Policy",
            json={"resourceID": self.course.resource_id, "parentGroupID": self.parent["id"], **fields},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


def join(tenant: Tenant, group: dict[str, Any], user: str | None, key: str | None = None, **body: Any) -> Any:
    payload = {"userID": user, **body} if user else body
    return tenant.post(f"/user/Groups/{group['id']}/SelfEnrol", key=key, json=payload)


def leave(tenant: Tenant, group: dict[str, Any], user: str) -> Any:
    return tenant.delete(f"/user/Groups/{group['id']}/SelfEnrol", params={"userID": user})


def members(cohort: Cohort) -> dict[str, int]:
    listed = cohort.tenant.get(f"/user/Resource/{cohort.course.resource_id}/Group").json()["data"]
    return {g["groupName"]: g["memberCount"] for g in listed}


def numeric_id(sessions: sessionmaker[Session], group: dict[str, Any]) -> int:
    """A LumiNUS group's integer id, as the management surface names it."""
    with sessions() as session:
        found = session.scalar(select(Group.id).where(Group.uuid == uuid.UUID(group["id"])))
    assert found is not None
    return found


def uuids(course: Course) -> list[str]:
    return [s["uuid"] for s in course.roster]


@pytest.fixture
def cohort(tenant: Tenant) -> Cohort:
    course = make_course(tenant, students=8, guests=2)
    (parent,) = course.add_class_groups(unique("Tutorials"))
    return Cohort(course, parent)


def test_a_learner_sees_the_groups_open_to_self_enrolment_with_their_state(cohort: Cohort) -> None:
    a, b = cohort.groups("T1", "T2", maxUser=1)
    cohort.groups("Later", **NOT_YET)
    cohort.groups("Over", **CLOSED)
    cohort.course.add_class_groups("Staff-made", parent=cohort.parent["id"])
    first, second = uuids(cohort.course)[:2]
    assert join(cohort.tenant, a, first).json()["status"] == "joined"

    response = cohort.offers(second)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["code"], body["total"]) == ("success", 200, 4)
    states = {g["groupName"]: (g["state"], g["memberCount"], g["isMember"]) for g in body["data"]}
    assert states == {
        "T1": ("full", 1, False),
        "T2": ("open", 0, False),
        "Later": ("notOpen", 0, False),
        "Over": ("closed", 0, False),
    }
    mine = {g["groupName"]: g["isMember"] for g in cohort.offers(first).json()["data"]}
    assert mine["T1"] is True
    assert b["id"] in {g["id"] for g in body["data"]}


def test_a_learner_joins_leaves_and_switches_within_the_window(cohort: Cohort) -> None:
    a, b = cohort.groups("A", "B", maxUser=3)
    user = uuids(cohort.course)[0]
    joined = join(cohort.tenant, a, user)
    assert joined.status_code == 200, joined.text
    assert joined.json() == {
        "status": "joined",
        "groupID": a["id"],
        "memberCount": 1,
        "maxUser": 3,
        "queuePosition": None,
        "leftGroupID": None,
    }
    assert join(cohort.tenant, a, user).json()["status"] == "alreadyMember"

    refused = join(cohort.tenant, b, user)
    assert refused.status_code == 409
    assert "already in a group" in refused.json()
    assert "'A'" in refused.json()
    switched = join(cohort.tenant, b, user, switch=True)
    assert switched.status_code == 200, switched.text
    assert (switched.json()["status"], switched.json()["leftGroupID"]) == ("joined", a["id"])
    assert members(cohort)["A"] == 0
    assert members(cohort)["B"] == 1

    left = leave(cohort.tenant, b, user)
    assert left.status_code == 200
    assert left.json()["status"] == "left"
    assert members(cohort)["B"] == 0
    again = leave(cohort.tenant, b, user)
    assert again.status_code == 404


def test_a_learners_own_key_acts_for_itself_only(cohort: Cohort) -> None:
    (a,) = cohort.groups("A")
    me, other = cohort.course.roster[:2]
    key = cohort.tenant.post(
        "/api_keys", json={"role": "staff", "user": unique("learner"), "student_uid": me["uid"]}
    ).json()["api_key"]
    own = join(cohort.tenant, a, None, key=key)
    assert own.status_code == 200, own.text
    assert join(cohort.tenant, a, me["uuid"], key=key).json()["status"] == "alreadyMember"
    for_someone_else = join(cohort.tenant, a, other["uuid"], key=key)
    assert for_someone_else.status_code == 403
    assert "own student" in for_someone_else.json()


def test_a_platform_key_must_name_the_learner(cohort: Cohort) -> None:
    (a,) = cohort.groups("A")
    response = join(cohort.tenant, a, None)
    assert response.status_code == 400
    assert "userID" in response.json()
    unknown = join(cohort.tenant, a, "00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("window", "words"),
    [(NOT_YET, "opens at 2098-01-01"), (CLOSED, "closed at 2021-01-01")],
    ids=["not-yet-open", "closed"],
)
def test_outside_the_window_a_join_is_refused_saying_so(
    cohort: Cohort, window: dict[str, Any], words: str
) -> None:
    (group,) = cohort.groups("A", **window)
    response = join(cohort.tenant, group, uuids(cohort.course)[0])
    assert response.status_code == 403
    assert "outside the window" in response.json()
    assert words in response.json()
    assert members(cohort)["A"] == 0


def test_a_group_that_does_not_take_self_enrolment_refuses(cohort: Cohort) -> None:
    (group,) = cohort.course.add_class_groups("Staff-made", parent=cohort.parent["id"])
    response = join(cohort.tenant, group, uuids(cohort.course)[0])
    assert response.status_code == 403
    assert "not self-enrol" in response.json()


def test_a_full_group_refuses_and_says_so(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=2)
    first, second, third = uuids(cohort.course)[:3]
    assert join(cohort.tenant, group, first).status_code == 200
    assert join(cohort.tenant, group, second).status_code == 200
    response = join(cohort.tenant, group, third)
    assert response.status_code == 409
    assert "Refused (full)" in response.json()
    assert "2 of 2" in response.json()
    assert "no waiting list" in response.json()
    queued = join(cohort.tenant, group, third, queue=True)
    assert queued.status_code == 409
    assert members(cohort)["A"] == 2


def test_max_user_zero_is_no_limit(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=0)
    for user in uuids(cohort.course):
        assert join(cohort.tenant, group, user).status_code == 200
    assert members(cohort)["A"] == len(cohort.course.roster)


def test_only_the_modules_roster_may_enrol_and_guests_when_admitted(cohort: Cohort, tenant: Tenant) -> None:
    (group,) = cohort.groups("A")
    outsider = tenant.student()
    refused = join(tenant, group, outsider["uuid"])
    assert refused.status_code == 403
    assert "not on the roster" in refused.json()
    assert cohort.offers(outsider["uuid"]).status_code == 403

    guest = cohort.course.guests[0]["uuid"]
    not_admitted = join(tenant, group, guest)
    assert not_admitted.status_code == 403
    assert "guests not admitted" in not_admitted.json()
    assert cohort.policy(admitGuests=True)["admitGuests"] is True
    assert join(tenant, group, guest).status_code == 200


def test_a_parent_that_allows_multiple_lets_a_learner_hold_several(cohort: Cohort) -> None:
    a, b = cohort.groups("A", "B")
    user = uuids(cohort.course)[0]
    assert cohort.policy(allowMultiple=True)["allowMultiple"] is True
    assert join(cohort.tenant, a, user).status_code == 200
    assert join(cohort.tenant, b, user).status_code == 200
    assert (members(cohort)["A"], members(cohort)["B"]) == (1, 1)
    refused = cohort.tenant.put(
        "/user/Groups/SelfEnrol/Policy",
        json={
            "resourceID": cohort.course.resource_id,
            "parentGroupID": cohort.parent["id"],
            "allowMultiple": False,
        },
    )
    assert refused.status_code == 409
    assert leave(cohort.tenant, b, user).status_code == 200
    assert cohort.policy(allowMultiple=False)["allowMultiple"] is False
    assert join(cohort.tenant, b, user).status_code == 409


def test_a_full_group_queues_and_a_freed_seat_goes_to_the_first_in_the_queue(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=2, waitlist=True)
    a, b, c, d = uuids(cohort.course)[:4]
    join(cohort.tenant, group, a)
    join(cohort.tenant, group, b)
    first = join(cohort.tenant, group, c, queue=True)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["queuePosition"]) == ("queued", 1)
    second = join(cohort.tenant, group, d, queue=True).json()
    assert (second["status"], second["queuePosition"]) == ("queued", 2)
    assert join(cohort.tenant, group, d, queue=True).json()["status"] == "alreadyQueued"
    without = join(cohort.tenant, group, d)
    assert without.status_code == 409
    assert "queue: true" in without.json()

    assert leave(cohort.tenant, group, a).json()["status"] == "left"
    seen = {g["groupName"]: g for g in cohort.offers(c).json()["data"]}["A"]
    assert (seen["isMember"], seen["queuePosition"], seen["memberCount"], seen["waitingCount"]) == (
        True,
        None,
        2,
        1,
    )
    seen_d = {g["groupName"]: g for g in cohort.offers(d).json()["data"]}["A"]
    assert (seen_d["isMember"], seen_d["queuePosition"]) == (False, 1)

    assert leave(cohort.tenant, group, d).json()["status"] == "leftQueue"
    assert {g["groupName"]: g for g in cohort.offers(d).json()["data"]}["A"]["waitingCount"] == 0


def test_a_learner_queued_while_in_a_sibling_moves_when_a_seat_frees(cohort: Cohort) -> None:
    full, other = cohort.groups("Full", "Other", maxUser=1, waitlist=True)
    a, b, c = uuids(cohort.course)[:3]
    join(cohort.tenant, full, a)
    join(cohort.tenant, other, b)
    queued = join(cohort.tenant, full, b, switch=True, queue=True)
    assert queued.json()["status"] == "queued"
    join(cohort.tenant, other, c, queue=True)  # waits for b's seat in Other

    assert leave(cohort.tenant, full, a).status_code == 200
    # b took the seat in Full and left Other, whose seat went to c at once.
    assert members(cohort)["Full"] == 1
    assert members(cohort)["Other"] == 1
    assert {g["groupName"]: g["isMember"] for g in cohort.offers(b).json()["data"]} == {
        "Full": True,
        "Other": False,
    }
    assert {g["groupName"]: g["isMember"] for g in cohort.offers(c).json()["data"]}["Other"] is True


def test_raising_max_user_gives_the_new_seats_to_the_queue(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=1, waitlist=True)
    a, b, c, d = uuids(cohort.course)[:4]
    join(cohort.tenant, group, a)
    for user in (b, c, d):
        join(cohort.tenant, group, user, queue=True)
    raised = cohort.tenant.put(f"/user/Groups/ClassGroups/{group['id']}", json={"maxUser": 3})
    assert raised.status_code == 200, raised.text
    assert (raised.json()["maxUser"], raised.json()["memberCount"]) == (3, 3)
    offers = {g["groupName"]: g for g in cohort.offers(d).json()["data"]}
    assert (offers["A"]["queuePosition"], offers["A"]["waitingCount"]) == (1, 1)


def test_updating_a_class_group_changes_only_the_fields_sent(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=4, description="Mondays")
    response = cohort.tenant.put(
        f"/user/Groups/ClassGroups/{group['id']}", json={"selfEnrolCloseDate": "2030-06-01T08:00:00+08:00"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["groupName"], body["maxUser"], body["description"]) == ("A", 4, "Mondays")
    assert body["selfEnrolCloseDate"] == "2030-06-01T00:00:00Z"
    backwards = cohort.tenant.put(
        f"/user/Groups/ClassGroups/{group['id']}", json={"selfEnrolOpenDate": "2031-01-01T00:00:00Z"}
    )
    assert backwards.status_code == 400
    assert "selfEnrolOpenDate" in backwards.json()
    null = cohort.tenant.put(f"/user/Groups/ClassGroups/{group['id']}", json={"maxUser": None})
    assert null.status_code == 400


def test_only_a_manager_changes_a_group_or_the_policy(cohort: Cohort) -> None:
    (group,) = cohort.groups("A")
    staff = cohort.tenant.new_key(Role.STAFF, user=unique("teacher"))
    assert (
        cohort.tenant.put(
            f"/user/Groups/ClassGroups/{group['id']}", key=staff, json={"maxUser": 1}
        ).status_code
        == 403
    )
    policy = cohort.tenant.put(
        "/user/Groups/SelfEnrol/Policy",
        key=staff,
        json={
            "resourceID": cohort.course.resource_id,
            "parentGroupID": cohort.parent["id"],
            "admitGuests": True,
        },
    )
    assert policy.status_code == 403


def test_another_instances_groups_are_not_found(cohort: Cohort, make_tenant: Any) -> None:
    (group,) = cohort.groups("A")
    other: Tenant = make_tenant()
    student = other.student()
    assert join(other, group, student["uuid"]).status_code == 404
    assert (
        other.delete(f"/user/Groups/{group['id']}/SelfEnrol", params={"userID": student["uuid"]}).status_code
        == 404
    )
    listed = other.get(
        f"/user/Resource/{cohort.course.resource_id}/Group/SelfEnrol", params={"userID": student["uuid"]}
    )
    assert listed.status_code == 404
    # Nor may a key name another instance's student.
    assert join(cohort.tenant, group, student["uuid"]).status_code == 404


def test_every_change_is_in_the_audit_log_and_refusals_are_not(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=1)
    a, b = uuids(cohort.course)[:2]

    def events() -> list[dict[str, Any]]:
        body: list[dict[str, Any]] = cohort.tenant.get(
            "/audit_events", params={"operation": "join_group"}
        ).json()
        return body

    before = len(events())
    assert join(cohort.tenant, group, a).status_code == 200
    assert join(cohort.tenant, group, b).status_code == 409
    logged = events()
    assert len(logged) == before + 1
    assert logged[0]["path"] == f"/user/Groups/{group['id']}/SelfEnrol"
    leave(cohort.tenant, group, a)
    assert (
        cohort.tenant.get("/audit_events", params={"operation": "leave_group"}).json()[0]["method"]
        == "DELETE"
    )


def test_a_seat_a_manager_frees_goes_to_the_queue(cohort: Cohort, sessions: sessionmaker[Session]) -> None:
    (group,) = cohort.groups("A", maxUser=1, waitlist=True)
    first, second = cohort.course.roster[:2]
    join(cohort.tenant, group, first["uuid"])
    join(cohort.tenant, group, second["uuid"], queue=True)
    numeric = numeric_id(sessions, group)
    removed = cohort.tenant.delete(f"/student_groups/{numeric}/students/{first['id']}")
    assert removed.status_code == 200, removed.text
    seen = {g["groupName"]: g for g in cohort.offers(second["uuid"]).json()["data"]}["A"]
    assert (seen["isMember"], seen["memberCount"], seen["waitingCount"]) == (True, 1, 0)


def test_the_queue_comes_before_a_newcomer_when_a_manager_made_room(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=2, waitlist=True)
    a, b, c, d = uuids(cohort.course)[:4]
    join(cohort.tenant, group, a)
    join(cohort.tenant, group, b)
    join(cohort.tenant, group, c, queue=True)
    # The documented call sets the members exactly, queue or not: one seat is free after it.
    set_users = cohort.tenant.put(
        "/user/Groups/Users", json={"iDs_UserGuids": [{"key": group["id"], "value": [a]}]}
    )
    assert set_users.status_code == 200, set_users.text
    newcomer = join(cohort.tenant, group, d)
    assert newcomer.status_code == 409
    assert "Refused (full)" in newcomer.json()
    assert {g["groupName"]: g["isMember"] for g in cohort.offers(c).json()["data"]}["A"] is True


def test_a_saved_randomise_replaces_the_grouping_and_its_queues(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=1, waitlist=True)
    a, b = uuids(cohort.course)[:2]
    join(cohort.tenant, group, a)
    join(cohort.tenant, group, b, queue=True)
    saved = cohort.course.randomise(parentGroupID=cohort.parent["id"], toUpdate=True)
    assert saved.status_code == 200, saved.text
    seen = {g["groupName"]: g for g in cohort.offers(b).json()["data"]}["A"]
    assert (seen["waitingCount"], seen["queuePosition"], seen["memberCount"]) == (0, None, 1)


def test_a_switch_leaves_a_group_only_within_that_groups_window(cohort: Cohort) -> None:
    (over,) = cohort.groups("Over", maxUser=3)
    (target,) = cohort.groups("Target")
    user = uuids(cohort.course)[0]
    assert join(cohort.tenant, over, user).status_code == 200
    closed = cohort.tenant.put(
        f"/user/Groups/ClassGroups/{over['id']}",
        json={"selfEnrolOpenDate": "2020-01-01T00:00:00Z", "selfEnrolCloseDate": "2021-01-01T00:00:00Z"},
    )
    assert closed.status_code == 200, closed.text
    refused = join(cohort.tenant, target, user, switch=True)
    assert refused.status_code == 403
    assert "'Over'" in refused.json()
    assert "closed at" in refused.json()
    assert members(cohort)["Over"] == 1


def test_a_place_in_a_queue_may_be_given_up_after_the_close(cohort: Cohort) -> None:
    (group,) = cohort.groups("A", maxUser=1, waitlist=True)
    a, b = uuids(cohort.course)[:2]
    join(cohort.tenant, group, a)
    join(cohort.tenant, group, b, queue=True)
    cohort.tenant.put(
        f"/user/Groups/ClassGroups/{group['id']}",
        json={"selfEnrolOpenDate": "2020-01-01T00:00:00Z", "selfEnrolCloseDate": "2021-01-01T00:00:00Z"},
    )
    assert leave(cohort.tenant, group, b).json()["status"] == "leftQueue"
    seat = leave(cohort.tenant, group, a)
    assert seat.status_code == 403
    assert "outside the window" in seat.json()


def test_only_class_groups_take_self_enrolment(cohort: Cohort) -> None:
    module_id = cohort.course.module["id"]
    tutorial = cohort.tenant.post(
        f"/modules/{module_id}/groups", json={"name": "T", "group_type": 22, "self_enrol": True}
    )
    assert tutorial.status_code == 400
    with_uuid = cohort.tenant.get(f"/user/Resource/{cohort.course.resource_id}/Group").json()["data"]
    roster = next(g for g in with_uuid if g["groupType"] == 2)
    refused = cohort.tenant.put(f"/user/Groups/ClassGroups/{roster['id']}", json={"selfEnrol": True})
    assert refused.status_code == 400
    assert "Student Roster" in refused.json()


def test_users_a_manager_places_leave_the_queues_and_free_seats_go_to_them(cohort: Cohort) -> None:
    a_group, b_group = cohort.groups("A", "B", maxUser=1, waitlist=True)
    a, b, c = uuids(cohort.course)[:3]
    join(cohort.tenant, a_group, a)
    join(cohort.tenant, b_group, b)
    join(cohort.tenant, a_group, c, queue=True)
    join(cohort.tenant, b_group, c, queue=True)
    # The manager moves a from A to B (b leaves B): A's seat goes to c, first in A's queue.
    moved = cohort.tenant.put(
        "/user/Groups/Users", json={"iDs_UserGuids": [{"key": b_group["id"], "value": [a]}]}
    )
    assert moved.status_code == 200, moved.text
    assert {g["groupName"]: g["isMember"] for g in cohort.offers(c).json()["data"]} == {"A": True, "B": False}
    assert [g["waitingCount"] for g in cohort.offers(c).json()["data"]] == [0, 0]
    assert {g["groupName"]: g["isMember"] for g in cohort.offers(a).json()["data"]} == {"A": False, "B": True}


def test_a_learner_joins_with_no_body_at_all_on_either_surface(cohort: Cohort) -> None:
    a, b = cohort.groups("A", "B")
    me = cohort.course.roster[0]
    key = cohort.tenant.post("/api_keys", json={"role": "staff", "student_uid": me["uid"]}).json()["api_key"]
    joined = cohort.tenant.post(f"/user/Groups/{a['id']}/SelfEnrol", key=key)
    assert joined.status_code == 200, joined.text
    assert joined.json()["status"] == "joined"
    module_id = cohort.course.module["id"]
    group_b = numeric_id(cohort.tenant.sessions, b)
    switched = cohort.tenant.post(f"/modules/{module_id}/enrolment/groups/{group_b}", key=key)
    assert switched.status_code == 409  # already in A: a switch is asked for, never assumed
    assert (
        cohort.tenant.post(f"/user/Groups/{a['id']}/SelfEnrol", key=key, json={"queue": "yes"}).status_code
        == 400
    )
