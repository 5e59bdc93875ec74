"""GET /user/Resource/{ResourceID}/Group/Search: a module's students and their groups."""

from __future__ import annotations

from typing import Any

import httpx

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import GROUP_MODEL, Course, make_course

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _search(course: Course, key: str | None = None, **params: Any) -> httpx.Response:
    return course.tenant.get(f"/user/Resource/{course.resource_id}/Group/Search", key=key, params=params)


def _found(course: Course, key: str | None = None, **params: Any) -> dict[str, list[str]]:
    """uid -> the names of its groups, for every row of a search that must succeed."""
    response = _search(course, key=key, **params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["code"] == 200
    assert body["total"] == len(body["data"]) or "limit" in params
    return {row["uid"]: [g["groupName"] for g in row["groups"]] for row in body["data"]}


def _put_users(tenant: Tenant, groups: dict[str, list[str]]) -> None:
    response = tenant.put(
        "/user/Groups/Users",
        json={"iDs_UserGuids": [{"key": g, "value": users} for g, users in groups.items()]},
    )
    assert response.status_code == 200, response.text


def _uids(course: Course, which: str = "roster") -> list[str]:
    return sorted(s["uid"] for s in (course.roster if which == "roster" else course.guests))


def _by_uid(course: Course) -> dict[str, dict[str, Any]]:
    return {s["uid"]: s for s in course.roster + course.guests}


def _grouped(tenant: Tenant, students: int = 6, guests: int = 0) -> tuple[Course, list[dict[str, Any]]]:
    """A course whose first four students are in two root class groups, the others in none."""
    course = make_course(tenant, students=students, guests=guests)
    groups = course.add_class_groups(unique("Alpha"), unique("Beta"))
    roster = sorted(course.roster, key=lambda s: s["uid"])
    _put_users(
        tenant,
        {
            groups[0]["id"]: [roster[0]["uuid"], roster[1]["uuid"]],
            groups[1]["id"]: [roster[2]["uuid"], roster[3]["uuid"]],
        },
    )
    return course, groups


def test_search_lists_every_student_of_the_module_with_their_root_groups(tenant: Tenant) -> None:
    course, groups = _grouped(tenant, guests=2)
    found = _found(course)
    assert list(found) == sorted(_uids(course) + _uids(course, "guests"))
    roster = _uids(course)
    assert found[roster[0]] == [groups[0]["groupName"]]
    assert found[roster[3]] == [groups[1]["groupName"]]
    assert found[roster[5]] == []


def test_each_row_is_a_user_with_the_documented_group_model(tenant: Tenant) -> None:
    course, groups = _grouped(tenant)
    row = _search(course).json()["data"][0]
    student = _by_uid(course)[row["uid"]]
    assert row["userID"] == student["uuid"]
    assert set(row["groups"][0]) == GROUP_MODEL
    assert row["groups"][0]["id"] == groups[0]["id"]
    assert row["groups"][0]["resourceID"] == course.resource_id


def test_text_matches_a_students_uid_or_name_in_any_case(tenant: Tenant) -> None:
    course = make_course(tenant, students=2)
    named = tenant.student(unique("zed"), name="Ada Lovelace")
    assert (
        tenant.post(f"/modules/{course.module['id']}/roster", json={"student_ids": [named["id"]]}).status_code
        == 200
    )
    assert list(_found(course, text="LOVEL")) == [named["uid"]]
    assert list(_found(course, text=named["uid"].upper())) == [named["uid"]]
    assert _found(course, text="no such student") == {}


def test_text_matches_the_name_of_a_group_the_student_is_in(tenant: Tenant) -> None:
    course, groups = _grouped(tenant)
    found = _found(course, text=groups[1]["groupName"].lower())
    assert list(found) == _uids(course)[2:4]


def test_text_matches_percent_and_underscore_literally(tenant: Tenant) -> None:
    course = make_course(tenant, students=3)
    odd = tenant.student(unique("odd"), name="100% under_score")
    tenant.post(f"/modules/{course.module['id']}/roster", json={"student_ids": [odd["id"]]})
    assert list(_found(course, text="0% under_")) == [odd["uid"]]
    assert _found(course, text="%") == {odd["uid"]: []}


def test_group_type_minus_one_finds_the_students_in_no_group(tenant: Tenant) -> None:
    course, _ = _grouped(tenant)
    assert list(_found(course, groupType=-1)) == _uids(course)[4:]


def test_group_type_keeps_the_students_in_groups_of_that_type(tenant: Tenant) -> None:
    course, _ = _grouped(tenant)
    tutorial = tenant.post(
        f"/modules/{course.module['id']}/groups", json={"name": unique("T01"), "group_type": 22}
    ).json()
    last = _uids(course)[5]
    added = tenant.post(
        f"/student_groups/{tutorial['id']}/students", json={"student_ids": [_by_uid(course)[last]["id"]]}
    )
    assert added.status_code == 200, added.text
    assert _found(course, groupType=22) == {last: [tutorial["name"]]}
    class_only = _found(course, groupType=1)
    assert list(class_only) == _uids(course)[:4]
    assert _found(course)[last] == [tutorial["name"]]
    assert list(_found(course, groupType=-1)) == [_uids(course)[4]]


def test_parent_group_searches_its_sub_groups(tenant: Tenant) -> None:
    course = make_course(tenant, students=4)
    (lecture,) = course.add_class_groups(unique("Lecture"))
    roster = sorted(course.roster, key=lambda s: s["uid"])
    _put_users(tenant, {lecture["id"]: [s["uuid"] for s in roster]})  # before it has sub-groups
    teams = course.add_class_groups(unique("Team A"), unique("Team B"), parent=lecture["id"])
    _put_users(tenant, {teams[0]["id"]: [roster[0]["uuid"]], teams[1]["id"]: [roster[1]["uuid"]]})
    found = _found(course, parentGroupID=lecture["id"])
    assert found[roster[0]["uid"]] == [teams[0]["groupName"]]
    assert found[roster[2]["uid"]] == []
    assert list(_found(course, parentGroupID=lecture["id"], groupType=-1)) == [s["uid"] for s in roster[2:]]
    assert all(names == [lecture["groupName"]] for names in _found(course, parentGroupID="").values())


def test_guests_can_be_left_out(tenant: Tenant) -> None:
    course = make_course(tenant, students=2, guests=2)
    assert list(_found(course, excludeGuestStudent="true")) == _uids(course)


def test_search_pages_by_uid_and_totals_all_matches(tenant: Tenant) -> None:
    course = make_course(tenant, students=7)
    response = _search(course, offset=2, limit=3)
    body = response.json()
    assert body["total"] == 7
    assert body["offset"] == 2
    assert [row["uid"] for row in body["data"]] == _uids(course)[2:5]


def test_a_key_that_manages_nothing_sees_only_students_of_groups_open_to_it(tenant: Tenant) -> None:
    course = make_course(tenant, students=4)
    (open_group,) = course.add_class_groups(unique("open"), groupAccess=2)
    (closed,) = course.add_class_groups(unique("closed"), groupAccess=1)
    roster = sorted(course.roster, key=lambda s: s["uid"])
    _put_users(tenant, {open_group["id"]: [roster[0]["uuid"]], closed["id"]: [roster[1]["uuid"]]})
    bystander = tenant.new_key(Role.STAFF, user=unique("bystander"))
    assert _found(course, key=bystander) == {roster[0]["uid"]: [open_group["groupName"]]}
    refused = _search(course, key=bystander, groupType=-1)
    assert refused.status_code == 403
    assert "no group" in refused.json()


def test_bad_filters_are_400_strings(tenant: Tenant) -> None:
    course = make_course(tenant, students=1)
    for params in ({"groupType": 5}, {"groupType": -2}, {"parentGroupID": "not-a-uuid"}, {"offset": -1}):
        response = _search(course, **params)
        assert response.status_code == 400, (params, response.text)
        assert isinstance(response.json(), str)
    (group,) = course.add_class_groups("Root")
    elsewhere = make_course(tenant, students=0)
    wrong_parent = _search(elsewhere, parentGroupID=group["id"])
    assert wrong_parent.status_code == 400
    assert "not a group of module" in wrong_parent.json()


def test_an_unknown_module_or_another_instances_is_404(tenant: Tenant, make_tenant: Any) -> None:
    assert tenant.get(f"/user/Resource/{UNKNOWN}/Group/Search").status_code == 404
    course = make_course(tenant, students=1)
    intruder = make_tenant()
    response = intruder.get(f"/user/Resource/{course.resource_id}/Group/Search")
    assert response.status_code == 404
    assert isinstance(response.json(), str)
