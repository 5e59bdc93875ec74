"""POST /modules/{id}/groups: a module's groups of every documented type, and their sibling rule."""

from __future__ import annotations

from typing import Any

import pytest

from studentgroups.tables.group_types import GROUP_TYPE_NAMES, GroupType
from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course


@pytest.fixture
def course(tenant: Tenant) -> Course:
    return make_course(tenant, students=3)


def _add(course: Course, key: str | None = None, **fields: Any) -> Any:
    return course.tenant.post(
        f"/modules/{course.module['id']}/groups", key=key, json={"name": unique("group"), **fields}
    )


def test_every_documented_type_but_the_roster_can_be_added_with_its_name(course: Course) -> None:
    for group_type, name in GROUP_TYPE_NAMES.items():
        response = _add(course, group_type=int(group_type))
        if group_type == GroupType.STUDENT_ROSTER:
            assert response.status_code == 400
            assert "one Student Roster" in response.json()["detail"]
            continue
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["group_type"] == int(group_type)
        assert body["group_type_name"] == name
        assert body["module_id"] == course.module["id"]
    listed = course.tenant.get(f"/user/Resource/{course.resource_id}/Group").json()["data"]
    assert {g["groupType"] for g in listed} == {int(t) for t in GROUP_TYPE_NAMES}


def test_an_undocumented_type_is_400_naming_the_field(course: Course) -> None:
    for undocumented in (3, 9, 11, 12, 20, 33):
        response = _add(course, group_type=undocumented)
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "group_type"


def test_the_answer_carries_access_and_limits(course: Course) -> None:
    body = _add(course, group_type=22, group_access=2, max_user=25, description="Thursday").json()
    assert (body["group_access"], body["max_user"], body["description"]) == (2, 25, "Thursday")
    assert body["parent_group_id"] is None
    luminus = next(
        g
        for g in course.tenant.get(f"/user/Resource/{course.resource_id}/Group").json()["data"]
        if g["id"] == body["uuid"]
    )
    assert (luminus["groupType"], luminus["groupTypeName"], luminus["maxUser"]) == (22, "Tutorial", 25)


def test_a_sub_group_goes_under_a_class_group_only(course: Course) -> None:
    parent = _add(course).json()
    child = _add(course, parent_group_id=parent["id"])
    assert child.status_code == 200
    assert child.json()["parent_group_id"] == parent["id"]
    tutorial = _add(course, group_type=22).json()
    assert _add(course, parent_group_id=tutorial["id"]).status_code == 400
    not_class_child = _add(course, group_type=22, parent_group_id=parent["id"])
    assert not_class_child.status_code == 400
    assert "Only class groups have sub-groups" in not_class_child.json()["detail"]
    assert _add(course, parent_group_id=child.json()["id"]).status_code == 400


def test_a_parent_of_another_module_or_instance_is_refused(tenant: Tenant, make_tenant: Any) -> None:
    course, other = make_course(tenant, students=0), make_course(tenant, students=0)
    parent = _add(other).json()
    assert _add(course, parent_group_id=parent["id"]).status_code == 400
    stranger = make_course(make_tenant(), students=0)
    foreign = _add(stranger).json()
    missing = _add(course, parent_group_id=foreign["id"])
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["field"] == "parent_group_id"


def test_only_the_modules_managers_add_groups(course: Course) -> None:
    staff = course.tenant.new_key(Role.STAFF, user=unique("not-a-manager"))
    reader = course.tenant.new_key(Role.READ_ONLY)
    assert _add(course, key=staff, group_type=22).status_code == 403
    assert _add(course, key=reader, group_type=22).status_code == 403


def test_a_student_is_in_one_root_group_of_each_type(course: Course) -> None:
    tutorial_1, tutorial_2 = _add(course, group_type=22).json(), _add(course, group_type=22).json()
    lab = _add(course, group_type=23).json()
    student = course.roster[0]["id"]
    join = {"student_ids": [student]}
    assert course.tenant.post(f"/student_groups/{tutorial_1['id']}/students", json=join).status_code == 200
    assert course.tenant.post(f"/student_groups/{lab['id']}/students", json=join).status_code == 200
    second_tutorial = course.tenant.post(f"/student_groups/{tutorial_2['id']}/students", json=join)
    assert second_tutorial.status_code == 409
    assert course.tenant.get(f"/student_groups/{tutorial_2['id']}/students").json() == []
