"""groupAccess: who sees a module's groups and who changes them, on both surfaces.

0 staff only; 1 members view; 2 module view; 3 members manage. The module's managers always see
and change everything; an instance's own (Domoscio) groups are the whole instance's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course


@dataclass
class Levels:
    """A course with one class group at each access level, and keys of every kind of caller."""

    course: Course
    groups: dict[int, dict[str, Any]]  # access level -> LumiNUS group
    ids: dict[int, int]  # access level -> Domoscio id
    learner: dict[str, Any]  # a student on the roster, in no group yet
    learner_key: str  # a staff key whose user is that student
    bystander_key: str  # a staff key of the instance that manages nothing and is no learner
    outsider_key: str  # a learner of another module


def _learner_key(tenant: Tenant, student: dict[str, Any], role: str = "staff") -> str:
    made = tenant.post(
        "/api_keys", json={"role": role, "user": unique("learner"), "student_uid": student["uid"]}
    )
    assert made.status_code == 200, made.text
    key: str = made.json()["api_key"]
    return key


def _put_users(tenant: Tenant, key: str, groups: dict[str, list[str]]) -> httpx.Response:
    return tenant.put(
        "/user/Groups/Users",
        key=key,
        json={"iDs_UserGuids": [{"key": g, "value": users} for g, users in groups.items()]},
    )


def _domoscio_id(tenant: Tenant, name: str) -> int:
    return int(next(g["id"] for g in tenant.get("/student_groups").json() if g["name"] == name))


@pytest.fixture
def levels(tenant: Tenant) -> Levels:
    course = make_course(tenant, students=6)
    groups = {}
    for level in range(4):
        (groups[level],) = course.add_class_groups(unique(f"level-{level}"), groupAccess=level)
    learner = course.roster[0]
    ids = {level: _domoscio_id(tenant, g["groupName"]) for level, g in groups.items()}
    other = make_course(tenant, students=1)
    return Levels(
        course=course,
        groups=groups,
        ids=ids,
        learner=learner,
        learner_key=_learner_key(tenant, learner),
        bystander_key=tenant.new_key(Role.STAFF, user=unique("bystander")),
        outsider_key=_learner_key(tenant, other.roster[0]),
    )


def _listed(course: Course, key: str) -> set[str]:
    response = course.tenant.get(f"/user/Resource/{course.resource_id}/Group", key=key)
    assert response.status_code == 200, response.text
    return {g["groupName"] for g in response.json()["data"]}


def test_a_manager_sees_every_group_of_the_module(levels: Levels) -> None:
    names = _listed(levels.course, levels.course.tenant.key)
    assert {g["groupName"] for g in levels.groups.values()} <= names
    assert {"Student Roster", "Guest Group"} <= names


def test_a_key_that_manages_nothing_sees_the_groups_open_to_the_module(levels: Levels) -> None:
    names = _listed(levels.course, levels.bystander_key)
    assert names == {levels.groups[2]["groupName"], levels.groups[3]["groupName"]}


def test_a_learner_sees_open_groups_of_their_module_and_the_groups_they_are_in(levels: Levels) -> None:
    course = levels.course
    alone = make_course(course.tenant, students=0)
    (mine,) = course.add_class_groups(unique("mine"), groupAccess=1)
    (not_mine,) = course.add_class_groups(unique("not-mine"), groupAccess=1)
    assert (
        _put_users(course.tenant, course.tenant.key, {mine["id"]: [levels.learner["uuid"]]}).status_code
        == 200
    )
    names = _listed(course, levels.learner_key)
    assert mine["groupName"] in names
    assert not_mine["groupName"] not in names
    assert levels.groups[0]["groupName"] not in names
    assert {levels.groups[2]["groupName"], levels.groups[3]["groupName"]} <= names
    assert "Student Roster" not in names
    alone.add_class_groups(unique("open-elsewhere"), groupAccess=2)
    assert _listed(alone, levels.learner_key) == set()


def test_a_learner_of_another_module_sees_none_of_its_groups(levels: Levels) -> None:
    assert _listed(levels.course, levels.outsider_key) == set()


def test_the_domoscio_list_hides_what_the_caller_may_not_see(levels: Levels) -> None:
    tenant = levels.course.tenant
    own = tenant.group(unique("instance-wide"))
    seen = {g["id"] for g in tenant.get("/student_groups", key=levels.bystander_key).json()}
    assert own["id"] in seen
    assert levels.ids[2] in seen
    assert levels.ids[3] in seen
    assert levels.ids[0] not in seen
    assert levels.ids[1] not in seen
    assert levels.course.module["roster_group_id"] not in seen
    everything = {g["id"] for g in tenant.get("/student_groups").json()}
    assert set(levels.ids.values()) | {own["id"], levels.course.module["roster_group_id"]} <= everything
    listed = tenant.get("/student_groups", key=levels.bystander_key, params={"limit": 1})
    assert int(listed.headers["X-Total-Count"]) == len(seen)


def test_reading_a_group_the_caller_may_not_see_is_403(levels: Levels) -> None:
    tenant = levels.course.tenant
    for path in (f"/student_groups/{levels.ids[0]}", f"/student_groups/{levels.ids[0]}/students"):
        response = tenant.get(path, key=levels.bystander_key)
        assert response.status_code == 403, response.text
        assert "groupAccess" in response.json()["detail"]
    assert tenant.get(f"/student_groups/{levels.ids[2]}", key=levels.bystander_key).status_code == 200
    roster = tenant.get(f"/modules/{levels.course.module['id']}/roster", key=levels.bystander_key)
    assert roster.status_code == 403


def test_changing_a_modules_group_through_domoscio_needs_a_manager(levels: Levels) -> None:
    tenant = levels.course.tenant
    group_id = levels.ids[2]
    student = levels.course.roster[1]
    attempts = [
        tenant.put(f"/student_groups/{group_id}", key=levels.bystander_key, json={"name": "hijacked"}),
        tenant.delete(f"/student_groups/{group_id}", key=levels.bystander_key),
        tenant.post(
            f"/student_groups/{group_id}/students",
            key=levels.bystander_key,
            json={"student_ids": [student["id"]]},
        ),
        tenant.put(f"/student_groups/{group_id}/students/{student['id']}", key=levels.bystander_key),
    ]
    assert [a.status_code for a in attempts] == [403, 403, 403, 403]
    assert tenant.get(f"/student_groups/{group_id}").json()["name"] == levels.groups[2]["groupName"]
    assert tenant.get(f"/student_groups/{group_id}/students").json() == []


def test_an_instances_own_groups_stay_open_to_every_staff_key(levels: Levels) -> None:
    tenant = levels.course.tenant
    own = tenant.group(unique("instance-wide"))
    renamed = tenant.put(f"/student_groups/{own['id']}", key=levels.bystander_key, json={"name": "renamed"})
    assert renamed.status_code == 200
    assert tenant.get(f"/student_groups/{own['id']}", key=levels.learner_key).status_code == 200


def test_members_manage_a_group_open_to_them(levels: Levels) -> None:
    course = levels.course
    (team,) = course.add_class_groups(unique("team"), groupAccess=3)
    (sub,) = course.add_class_groups(unique("sub"), parent=team["id"], groupAccess=3)
    manager = course.tenant.key
    learner, friend = levels.learner["uuid"], course.roster[1]["uuid"]
    assert _put_users(course.tenant, manager, {sub["id"]: [learner]}).status_code == 200
    response = _put_users(course.tenant, levels.learner_key, {sub["id"]: [learner, friend]})
    assert response.status_code == 200, response.text
    assert set(response.json()[0]["members"]) == {learner, friend}
    friend_id = course.roster[1]["id"]
    sub_id = _domoscio_id(course.tenant, sub["groupName"])
    removed = course.tenant.delete(f"/student_groups/{sub_id}/students/{friend_id}", key=levels.learner_key)
    assert removed.status_code == 200, removed.text


def test_members_may_not_manage_a_group_below_level_3(levels: Levels) -> None:
    course = levels.course
    (parent,) = course.add_class_groups(unique("parent"))
    (sub,) = course.add_class_groups(unique("sub"), parent=parent["id"], groupAccess=2)
    learner = levels.learner["uuid"]
    assert _put_users(course.tenant, course.tenant.key, {sub["id"]: [learner]}).status_code == 200
    response = _put_users(course.tenant, levels.learner_key, {sub["id"]: []})
    assert response.status_code == 403, response.text
    assert "groupAccess is 3" in response.json()
    assert (
        len(
            course.tenant.get(
                f"/student_groups/{_domoscio_id(course.tenant, sub['groupName'])}/students"
            ).json()
        )
        == 1
    )


def test_a_level_3_group_is_not_managed_by_someone_outside_it(levels: Levels) -> None:
    course = levels.course
    (parent,) = course.add_class_groups(unique("parent"))
    (sub,) = course.add_class_groups(unique("sub"), parent=parent["id"], groupAccess=3)
    response = _put_users(course.tenant, levels.learner_key, {sub["id"]: [levels.learner["uuid"]]})
    assert response.status_code == 403, response.text
    assert _put_users(course.tenant, levels.bystander_key, {sub["id"]: []}).status_code == 403


def test_a_member_may_not_take_someone_out_of_a_sibling_group(levels: Levels) -> None:
    course = levels.course
    (parent,) = course.add_class_groups(unique("parent"))
    mine, theirs = course.add_class_groups(
        unique("mine"), unique("theirs"), parent=parent["id"], groupAccess=3
    )
    learner, other = levels.learner["uuid"], course.roster[2]["uuid"]
    placed = _put_users(course.tenant, course.tenant.key, {mine["id"]: [learner], theirs["id"]: [other]})
    assert placed.status_code == 200, placed.text
    response = _put_users(course.tenant, levels.learner_key, {mine["id"]: [learner, other]})
    assert response.status_code == 403, response.text
    assert "only a manager" in response.json()
    theirs_id = _domoscio_id(course.tenant, theirs["groupName"])
    assert [s["uuid"] for s in course.tenant.get(f"/student_groups/{theirs_id}/students").json()] == [other]


def test_a_read_only_learner_key_never_writes_even_at_level_3(levels: Levels) -> None:
    course = levels.course
    (parent,) = course.add_class_groups(unique("parent"))
    (sub,) = course.add_class_groups(unique("sub"), parent=parent["id"], groupAccess=3)
    learner = levels.learner["uuid"]
    assert _put_users(course.tenant, course.tenant.key, {sub["id"]: [learner]}).status_code == 200
    reader = _learner_key(course.tenant, course.roster[3], role="read-only")
    assert _put_users(course.tenant, reader, {sub["id"]: []}).status_code == 403


def test_a_modules_roster_goes_only_with_its_module(levels: Levels) -> None:
    tenant = levels.course.tenant
    roster_id = levels.course.module["roster_group_id"]
    response = tenant.delete(f"/student_groups/{roster_id}", params={"force": "true"})
    assert response.status_code == 409
    assert "goes only with its module" in response.json()["detail"]
    assert len(tenant.get(f"/modules/{levels.course.module['id']}/roster").json()) == 6


def test_a_learner_key_names_an_existing_student(tenant: Tenant) -> None:
    response = tenant.post("/api_keys", json={"role": "staff", "user": "ghost", "student_uid": "nobody"})
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "student_uid"
    assert all(k["user"] != "ghost" for k in tenant.get("/api_keys").json())


def test_a_user_is_one_learner_and_a_learner_one_user(tenant: Tenant) -> None:
    first, second = tenant.student(unique("s")), tenant.student(unique("s"))
    made = tenant.post("/api_keys", json={"role": "staff", "user": "alice", "student_uid": first["uid"]})
    assert made.status_code == 200
    assert made.json()["student_id"] == first["id"]
    listed = {k["id"]: k for k in tenant.get("/api_keys").json()}
    assert listed[made.json()["id"]]["student_id"] == first["id"]
    assert all(k["student_id"] is None for k in listed.values() if k["user"] != "alice")
    again = tenant.post("/api_keys", json={"role": "read-only", "user": "alice", "student_uid": first["uid"]})
    assert again.status_code == 200
    other_student = tenant.post(
        "/api_keys", json={"role": "staff", "user": "alice", "student_uid": second["uid"]}
    )
    assert other_student.status_code == 409
    other_user = tenant.post("/api_keys", json={"role": "staff", "user": "bob", "student_uid": first["uid"]})
    assert other_user.status_code == 409
    assert other_user.json()["errors"][0]["field"] == "student_uid"
