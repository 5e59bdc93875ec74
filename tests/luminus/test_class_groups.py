"""POST /user/Groups/ClassGroups, PUT /user/Groups/Users and GET /user/Resource/{id}/Group, rule by rule."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import GROUP_MODEL, Course, make_course

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _error(response: httpx.Response, status: int, *words: str) -> None:
    """The response is `status` with a JSON string body that mentions each of `words`."""
    assert response.status_code == status, response.text
    message = response.json()
    assert isinstance(message, str), message
    for word in words:
        assert word in message, message


def _add(
    course: Course, *groups: dict[str, Any], parent: str | None = None, key: str | None = None
) -> httpx.Response:
    """POST /user/Groups/ClassGroups with these class groups, answered as is."""
    return course.tenant.post(
        "/user/Groups/ClassGroups",
        key=key,
        json={"resourceID": course.resource_id, "parentGroupID": parent, "classGroup": list(groups)},
    )


def _put_users(
    tenant: Tenant, assignments: dict[str, list[str]], *, allow_multiple: bool = False, key: str | None = None
) -> httpx.Response:
    """PUT /user/Groups/Users: each group id's members become the user ids given."""
    return tenant.put(
        "/user/Groups/Users",
        key=key,
        json={
            "iDs_UserGuids": [{"key": g, "value": users} for g, users in assignments.items()],
            "allowMultiple": allow_multiple,
        },
    )


def _list(course: Course, key: str | None = None, **params: Any) -> httpx.Response:
    return course.tenant.get(f"/user/Resource/{course.resource_id}/Group", key=key, params=params)


def _data(course: Course, key: str | None = None, **params: Any) -> list[dict[str, Any]]:
    response = _list(course, key=key, **params)
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _names(groups: list[dict[str, Any]]) -> list[str]:
    return [g["groupName"] for g in groups]


def _class_groups(course: Course) -> list[dict[str, Any]]:
    """The module's class groups (and sub-groups) as the module's manager lists them."""
    return _data(course, where="groupType eq 1")


def _stored_members(course: Course) -> dict[str, set[str]]:
    """What is stored: each class group's member user ids, read through the Domoscio members endpoint.

    Class groups are matched to Domoscio groups by name, so a test using this gives them unique names.
    """
    by_name = {g["name"]: g["id"] for g in course.tenant.get("/student_groups").json()}
    return {
        g["id"]: {
            s["uuid"] for s in course.tenant.get(f"/student_groups/{by_name[g['groupName']]}/students").json()
        }
        for g in _class_groups(course)
    }


def _members(groups: list[dict[str, Any]]) -> dict[str, set[str]]:
    return {g["id"]: set(g["members"]) for g in groups}


def _users(course: Course) -> list[str]:
    return [s["uuid"] for s in course.roster]


def _grant_staff(course: Course, user: str) -> str:
    """A staff key of `user`, made a manager of the course's module."""
    key = course.tenant.new_key(Role.STAFF, user=user)
    granted = course.tenant.post(f"/modules/{course.module['id']}/staff", json={"users": [user]})
    assert granted.status_code == 204, granted.text
    return key


# POST /user/Groups/ClassGroups ------------------------------------------------------------------


def test_add_creates_root_class_groups_and_echoes_their_fields(course: Course) -> None:
    response = _add(
        course,
        {
            "groupName": "Lab 1",
            "description": "Thursday lab",
            "selfEnrol": True,
            "maxUser": 5,
            "selfEnrolOpenDate": "2030-01-01T00:00:00Z",
            "selfEnrolCloseDate": "2030-01-08T12:30:00Z",
            "groupAccess": 3,
        },
        {"groupName": "Lab 2"},
    )
    assert response.status_code == 200, response.text
    lab1, lab2 = response.json()
    assert set(lab1) == GROUP_MODEL | {
        "description",
        "selfEnrol",
        "maxUser",
        "selfEnrolOpenDate",
        "selfEnrolCloseDate",
        "memberCount",
        "waitlist",
    }
    uuid.UUID(lab1["id"])
    assert lab1["id"] != lab2["id"]
    assert {k: v for k, v in lab1.items() if k not in {"id", "creatorID"}} == {
        "groupName": "Lab 1",
        "groupType": 1,
        "groupTypeName": "Class Group",
        "resourceID": course.resource_id,
        "parentGroupID": None,
        "groupAccess": 3,
        "description": "Thursday lab",
        "selfEnrol": True,
        "maxUser": 5,
        "selfEnrolOpenDate": "2030-01-01T00:00:00Z",
        "selfEnrolCloseDate": "2030-01-08T12:30:00Z",
        "memberCount": 0,
        "waitlist": False,
    }


def test_a_date_with_a_utc_offset_is_kept_as_the_same_instant_in_utc(course: Course) -> None:
    response = _add(course, {"groupName": "Lab", "selfEnrolOpenDate": "2030-01-01T08:00:00+08:00"})
    assert response.status_code == 200, response.text
    (listed,) = _class_groups(course)
    assert listed["selfEnrolOpenDate"] == "2030-01-01T00:00:00Z"


def test_add_fills_in_the_defaults_of_fields_not_sent(course: Course) -> None:
    (group,) = course.add_class_groups("Bare")
    assert group["description"] is None
    assert group["selfEnrol"] is False
    assert group["maxUser"] == 0
    assert group["selfEnrolOpenDate"] is None
    assert group["selfEnrolCloseDate"] is None
    assert group["groupAccess"] == 1


def test_added_groups_are_listed_afterwards(course: Course) -> None:
    created = course.add_class_groups("Tutorial A", "Tutorial B", description="weekly")
    assert _class_groups(course) == created


def test_an_empty_parent_group_id_means_the_root(course: Course) -> None:
    response = _add(course, {"groupName": "Root"}, parent="")
    assert response.status_code == 200, response.text
    assert response.json()[0]["parentGroupID"] is None


def test_add_creates_sub_groups_under_a_class_group(course: Course) -> None:
    (lecture,) = course.add_class_groups("Lecture")
    subs = course.add_class_groups("Team 1", "Team 2", parent=lecture["id"], maxUser=4)
    assert _names(subs) == ["Team 1", "Team 2"]
    assert all(s["parentGroupID"] == lecture["id"] for s in subs)
    assert all(s["groupType"] == 1 and s["maxUser"] == 4 for s in subs)
    listed = _data(course, where=f"parentGroupID eq {lecture['id']}")
    assert [g["id"] for g in listed] == [s["id"] for s in subs]


def test_the_creator_is_the_keys_user(course: Course) -> None:
    ta = _grant_staff(course, "ta")
    (by_admin,) = course.add_class_groups("By the admin")
    (by_ta,) = course.add_class_groups("By the TA", key=ta)
    (roster,) = _data(course, where="groupType eq 2")
    assert by_admin["creatorID"] is not None
    assert by_ta["creatorID"] is not None
    assert by_admin["creatorID"] != by_ta["creatorID"]
    # The admin key's user also created the module, and with it the roster.
    assert by_admin["creatorID"] == roster["creatorID"]
    (again,) = course.add_class_groups("By the TA again", key=ta)
    assert again["creatorID"] == by_ta["creatorID"]


def test_more_than_100_groups_in_one_call_are_refused_and_none_created(course: Course) -> None:
    response = _add(course, *({"groupName": f"G{i}"} for i in range(101)))
    _error(response, 400, "classGroup")
    assert _class_groups(course) == []


def test_exactly_100_groups_in_one_call_are_created(course: Course) -> None:
    response = _add(course, *({"groupName": f"G{i}"} for i in range(100)))
    assert response.status_code == 200, response.text
    assert len(response.json()) == 100
    assert _list(course, where="groupType eq 1", limit=0).json()["total"] == 100


def test_an_empty_list_of_groups_is_refused(course: Course) -> None:
    _error(_add(course), 400, "classGroup")


def test_a_negative_max_user_is_refused(course: Course) -> None:
    _error(_add(course, {"groupName": "A"}, {"groupName": "B", "maxUser": -1}), 400, "maxUser")
    assert _class_groups(course) == []


def _window(opens: str, closes: str) -> dict[str, Any]:
    return {"groupName": "Window", "selfEnrolOpenDate": opens, "selfEnrolCloseDate": closes}


def test_an_open_date_after_the_close_date_is_refused(course: Course) -> None:
    _error(_add(course, _window("2030-02-01T00:00:00Z", "2030-01-01T00:00:00Z")), 400, "classGroup.0")
    assert _class_groups(course) == []


def test_an_open_date_equal_to_the_close_date_is_refused(course: Course) -> None:
    # The same instant, written in two time zones.
    _error(_add(course, _window("2030-01-01T08:00:00+08:00", "2030-01-01T00:00:00Z")), 400, "classGroup.0")
    assert _class_groups(course) == []


def test_an_open_date_before_the_close_date_is_accepted(course: Course) -> None:
    response = _add(course, _window("2030-01-01T00:00:00Z", "2030-01-01T00:00:01Z"))
    assert response.status_code == 200, response.text


def test_a_date_without_a_time_zone_is_refused(course: Course) -> None:
    _error(_add(course, {"groupName": "A", "selfEnrolOpenDate": "2030-01-01T00:00:00"}), 400, "classGroup.0")
    _error(_add(course, {"groupName": "A", "selfEnrolCloseDate": "2030-01-01T00:00:00"}), 400, "classGroup.0")
    assert _class_groups(course) == []
    accepted = _add(course, {"groupName": "A", "selfEnrolOpenDate": "2030-01-01T00:00:00Z"})
    assert accepted.status_code == 200, accepted.text


def test_a_sub_group_of_a_sub_group_is_refused(course: Course) -> None:
    (lecture,) = course.add_class_groups("Lecture")
    (team,) = course.add_class_groups("Team", parent=lecture["id"])
    _error(_add(course, {"groupName": "Too deep"}, parent=team["id"]), 400, "sub-group")
    assert _names(_class_groups(course)) == ["Lecture", "Team"]


def test_a_parent_that_is_not_a_class_group_is_refused(course: Course) -> None:
    (roster,) = _data(course, where="groupType eq 2")
    _error(
        _add(course, {"groupName": "Under roster"}, parent=roster["id"]), 400, "Student Roster", "class group"
    )
    assert _class_groups(course) == []


def test_an_unknown_parent_is_404(course: Course) -> None:
    _error(_add(course, {"groupName": "Orphan"}, parent=UNKNOWN), 404, UNKNOWN)
    assert _class_groups(course) == []


def test_a_parent_of_another_module_is_refused(tenant: Tenant) -> None:
    course, other = make_course(tenant, students=0), make_course(tenant, students=0)
    (elsewhere,) = other.add_class_groups("Other module's group")
    _error(_add(course, {"groupName": "Misplaced"}, parent=elsewhere["id"]), 400)
    assert _class_groups(course) == []
    assert _class_groups(other) == [elsewhere]


def test_adding_to_an_unknown_module_is_404(tenant: Tenant) -> None:
    response = tenant.post(
        "/user/Groups/ClassGroups", json={"resourceID": UNKNOWN, "classGroup": [{"groupName": "A"}]}
    )
    _error(response, 404, UNKNOWN)


def test_adding_to_another_instances_module_is_404_and_creates_nothing(
    course: Course, make_tenant: Callable[[], Tenant]
) -> None:
    intruder = make_tenant()
    response = intruder.post(
        "/user/Groups/ClassGroups",
        json={"resourceID": course.resource_id, "classGroup": [{"groupName": "Intruder"}]},
    )
    _error(response, 404)
    assert _class_groups(course) == []


def test_a_staff_key_whose_user_does_not_manage_the_module_may_not_add(course: Course) -> None:
    outsider = course.tenant.new_key(Role.STAFF, user="another-teacher")
    _error(_add(course, {"groupName": "Not mine"}, key=outsider), 403, "does not manage")
    assert _class_groups(course) == []


def test_a_read_only_key_may_not_add_even_for_the_modules_creator(course: Course) -> None:
    # The key's user is "admin", who created the module; the role still forbids writing.
    reader = course.tenant.new_key(Role.READ_ONLY)
    _error(_add(course, {"groupName": "Read only"}, key=reader), 403)
    assert _class_groups(course) == []


# PUT /user/Groups/Users -------------------------------------------------------------------------


def test_update_users_sets_each_groups_members_exactly(course: Course) -> None:
    a, b, c = course.add_class_groups(unique("A"), unique("B"), unique("C"))
    s = _users(course)
    response = _put_users(course.tenant, {a["id"]: [s[0], s[1]], b["id"]: [s[2]], c["id"]: []})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [g["id"] for g in body] == [a["id"], b["id"], c["id"]]
    assert all(g["groupType"] == 1 and g["resourceID"] == course.resource_id for g in body)
    expected = {a["id"]: {s[0], s[1]}, b["id"]: {s[2]}, c["id"]: set()}
    assert _members(body) == expected
    assert _stored_members(course) == expected
    assert {g["id"]: g["memberCount"] for g in _class_groups(course)} == {a["id"]: 2, b["id"]: 1, c["id"]: 0}


def test_update_users_replaces_a_groups_members(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: [s[0], s[1]]}).status_code == 200
    response = _put_users(course.tenant, {a["id"]: [s[1], s[2]]})
    assert response.status_code == 200, response.text
    assert _members(response.json()) == {a["id"]: {s[1], s[2]}}
    assert _stored_members(course) == {a["id"]: {s[1], s[2]}}


def test_update_users_with_an_empty_list_empties_the_group(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: [s[0]]}).status_code == 200
    assert _members(_put_users(course.tenant, {a["id"]: []}).json()) == {a["id"]: set()}
    assert _stored_members(course) == {a["id"]: set()}


def test_update_users_refuses_a_user_in_two_groups_and_changes_nothing(course: Course) -> None:
    a, b = course.add_class_groups(unique("A"), unique("B"))
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: [s[0]], b["id"]: [s[3]]}).status_code == 200
    response = _put_users(course.tenant, {a["id"]: [s[1], s[2]], b["id"]: [s[2]]})
    _error(response, 400, s[2], "allowMultiple")
    assert _stored_members(course) == {a["id"]: {s[0]}, b["id"]: {s[3]}}


def test_update_users_with_allow_multiple_puts_a_user_in_two_groups(course: Course) -> None:
    a, b = course.add_class_groups(unique("A"), unique("B"))
    s = _users(course)
    response = _put_users(course.tenant, {a["id"]: [s[0], s[1]], b["id"]: [s[1]]}, allow_multiple=True)
    assert response.status_code == 200, response.text
    expected = {a["id"]: {s[0], s[1]}, b["id"]: {s[1]}}
    assert _members(response.json()) == expected
    assert _stored_members(course) == expected


def test_update_users_moves_a_user_out_of_a_sibling_group(course: Course) -> None:
    a, b = course.add_class_groups(unique("A"), unique("B"))
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: [s[0], s[1]]}).status_code == 200
    response = _put_users(course.tenant, {b["id"]: [s[0]]})
    assert response.status_code == 200, response.text
    assert _members(response.json()) == {b["id"]: {s[0]}}
    assert _stored_members(course) == {a["id"]: {s[1]}, b["id"]: {s[0]}}


def test_update_users_moves_a_user_out_of_a_sibling_sub_group(course: Course) -> None:
    (lecture,) = course.add_class_groups(unique("Lecture"))
    t1, t2 = course.add_class_groups(unique("Team 1"), unique("Team 2"), parent=lecture["id"])
    s = _users(course)
    assert _put_users(course.tenant, {t1["id"]: [s[0], s[1]]}).status_code == 200
    response = _put_users(course.tenant, {t2["id"]: [s[1]]})
    assert response.status_code == 200, response.text
    assert all(g["parentGroupID"] == lecture["id"] for g in response.json())
    stored = _stored_members(course)
    assert (stored[t1["id"]], stored[t2["id"]]) == ({s[0]}, {s[1]})


def test_update_users_lists_a_user_given_twice_in_one_group_once(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    s = _users(course)
    response = _put_users(course.tenant, {a["id"]: [s[0], s[0], s[1]]})
    assert response.status_code == 200, response.text
    assert sorted(response.json()[0]["members"]) == sorted([s[0], s[1]])
    assert _class_groups(course)[0]["memberCount"] == 2


def test_update_users_moves_only_within_the_same_parent(course: Course) -> None:
    lecture, seminar = course.add_class_groups(unique("Lecture"), unique("Seminar"))
    (team_l,) = course.add_class_groups(unique("Lecture team"), parent=lecture["id"])
    (team_s,) = course.add_class_groups(unique("Seminar team"), parent=seminar["id"])
    s = _users(course)
    assert _put_users(course.tenant, {team_l["id"]: [s[0]]}).status_code == 200
    assert _put_users(course.tenant, {team_s["id"]: [s[0]]}).status_code == 200
    stored = _stored_members(course)
    assert stored[team_l["id"]] == {s[0]}
    assert stored[team_s["id"]] == {s[0]}


def test_update_users_accepts_the_modules_guests(tenant: Tenant) -> None:
    course = make_course(tenant, students=2, guests=1)
    (a,) = course.add_class_groups(unique("A"))
    guest = course.guests[0]["uuid"]
    response = _put_users(tenant, {a["id"]: [guest, course.roster[0]["uuid"]]})
    assert response.status_code == 200, response.text
    assert _members(response.json()) == {a["id"]: {guest, course.roster[0]["uuid"]}}


def test_update_users_refuses_a_user_not_on_the_module_naming_them(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: [s[0]]}).status_code == 200
    stranger = course.tenant.student(unique("stranger"))["uuid"]
    _error(_put_users(course.tenant, {a["id"]: [s[1], stranger]}), 400, stranger)
    _error(_put_users(course.tenant, {a["id"]: [UNKNOWN]}), 400, UNKNOWN)
    assert _stored_members(course) == {a["id"]: {s[0]}}


def test_update_users_refuses_groups_of_different_parents(course: Course) -> None:
    lecture, seminar = course.add_class_groups(unique("Lecture"), unique("Seminar"))
    (team,) = course.add_class_groups(unique("Team"), parent=lecture["id"])
    s = _users(course)
    _error(_put_users(course.tenant, {team["id"]: [s[0]], seminar["id"]: [s[1]]}), 400, "same main/parent")
    assert all(not members for members in _stored_members(course).values())


def test_update_users_refuses_groups_of_different_modules(tenant: Tenant) -> None:
    course, other = make_course(tenant, students=2), make_course(tenant, students=2)
    (a,) = course.add_class_groups(unique("A"))
    (b,) = other.add_class_groups(unique("B"))
    response = _put_users(tenant, {a["id"]: [course.roster[0]["uuid"]], b["id"]: [other.roster[0]["uuid"]]})
    _error(response, 400, "same main/parent")


def test_update_users_refuses_a_group_that_has_sub_groups(course: Course) -> None:
    (lecture,) = course.add_class_groups(unique("Lecture"))
    course.add_class_groups(unique("Team"), parent=lecture["id"])
    _error(_put_users(course.tenant, {lecture["id"]: [_users(course)[0]]}), 400, "sub-groups")
    assert all(not members for members in _stored_members(course).values())


def test_update_users_refuses_the_roster(course: Course) -> None:
    (roster,) = _data(course, where="groupType eq 2")
    _error(_put_users(course.tenant, {roster["id"]: []}), 400, "Student Roster", "class groups only")
    (after,) = _data(course, where="groupType eq 2")
    assert after["memberCount"] == len(course.roster)


def test_update_users_on_an_unknown_group_is_404(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    s = _users(course)
    _error(_put_users(course.tenant, {a["id"]: [s[0]], UNKNOWN: [s[1]]}), 404, UNKNOWN)
    assert _stored_members(course) == {a["id"]: set()}


def test_update_users_on_another_instances_group_is_404(
    course: Course, make_tenant: Callable[[], Tenant]
) -> None:
    (a,) = course.add_class_groups(unique("A"))
    _error(_put_users(make_tenant(), {a["id"]: []}), 404, a["id"])


def test_a_key_whose_user_does_not_manage_the_module_may_not_update_users(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: [s[0]]}).status_code == 200
    outsider = course.tenant.new_key(Role.STAFF, user="another-teacher")
    _error(_put_users(course.tenant, {a["id"]: [s[1]]}, key=outsider), 403, "does not manage")
    reader = course.tenant.new_key(Role.READ_ONLY)  # of the module's creator, but read-only
    _error(_put_users(course.tenant, {a["id"]: [s[1]]}, key=reader), 403)
    assert _stored_members(course) == {a["id"]: {s[0]}}


def test_module_staff_may_update_users(course: Course) -> None:
    (a,) = course.add_class_groups(unique("A"))
    ta = _grant_staff(course, "ta")
    s = _users(course)
    response = _put_users(course.tenant, {a["id"]: [s[0]]}, key=ta)
    assert response.status_code == 200, response.text
    assert _stored_members(course) == {a["id"]: {s[0]}}


# GET /user/Resource/{ResourceID}/Group ----------------------------------------------------------


def test_list_answers_the_documented_envelope(course: Course) -> None:
    course.add_class_groups("A", "B")
    response = _list(course)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"status", "code", "total", "offset", "data"}
    assert body["status"] == "success"
    assert body["code"] == 200
    assert body["offset"] == 0
    # The roster, the guest group and the two class groups.
    assert body["total"] == 4
    assert len(body["data"]) == 4


def test_list_shows_the_roster_and_guest_group_to_the_manager(tenant: Tenant) -> None:
    course = make_course(tenant, students=3, guests=2)
    by_type = {g["groupType"]: g for g in _data(course)}
    assert set(by_type) == {2, 10}
    assert by_type[2]["groupTypeName"] == "Student Roster"
    assert by_type[10]["groupTypeName"] == "Guest Group"
    assert by_type[2]["memberCount"] == 3
    assert by_type[10]["memberCount"] == 2
    assert all(g["resourceID"] == course.resource_id and g["parentGroupID"] is None for g in by_type.values())


def test_list_counts_members(course: Course) -> None:
    a, b = course.add_class_groups("A", "B")
    s = _users(course)
    assert _put_users(course.tenant, {a["id"]: s[:3], b["id"]: s[3:4]}).status_code == 200
    assert {g["groupName"]: g["memberCount"] for g in _class_groups(course)} == {"A": 3, "B": 1}


def test_list_pages_with_limit_and_offset_and_totals_all_matches(course: Course) -> None:
    course.add_class_groups("G1", "G2", "G3", "G4", "G5")
    everything = _data(course, where="groupType eq 1")
    assert _names(everything) == ["G1", "G2", "G3", "G4", "G5"]
    page = _list(course, where="groupType eq 1", limit=2, offset=2).json()
    assert page["total"] == 5
    assert page["offset"] == 2
    assert page["data"] == everything[2:4]
    tail = _list(course, where="groupType eq 1", limit=2, offset=4).json()
    assert (tail["total"], _names(tail["data"])) == (5, ["G5"])
    beyond = _list(course, where="groupType eq 1", offset=10).json()
    assert (beyond["total"], beyond["offset"], beyond["data"]) == (5, 10, [])


def test_list_refuses_a_negative_offset_or_limit(course: Course) -> None:
    _error(_list(course, offset=-1), 400, "offset")
    _error(_list(course, limit=-1), 400, "limit")


def test_list_sorts_by_group_name_descending(course: Course) -> None:
    course.add_class_groups("Bravo", "Alpha", "Delta", "Charlie")
    data = _data(course, where="groupType eq 1", sortby="groupName desc")
    assert _names(data) == ["Delta", "Charlie", "Bravo", "Alpha"]
    ascending = _data(course, where="groupType eq 1", sortby="groupName")
    assert _names(ascending) == ["Alpha", "Bravo", "Charlie", "Delta"]


def test_list_sorts_by_several_fields(course: Course) -> None:
    course.add_class_groups("B", "A", maxUser=5)
    course.add_class_groups("C", "D", maxUser=9)
    data = _data(course, where="groupType eq 1", sortby="maxUser desc, groupName asc")
    assert _names(data) == ["C", "D", "A", "B"]


def test_list_refuses_a_sortby_it_cannot_read(course: Course) -> None:
    _error(_list(course, sortby="colour"), 400, "sortby", "colour")
    _error(_list(course, sortby="groupName sideways"), 400, "sortby")


def test_list_filters_by_group_type(course: Course) -> None:
    course.add_class_groups("A", "B")
    assert _names(_data(course, where="groupType eq 1")) == ["A", "B"]
    assert _names(_data(course, where="groupType eq 2")) == ["Student Roster"]
    others = _data(course, where="groupType ne 1")
    assert sorted(g["groupType"] for g in others) == [2, 10]


def test_list_filters_by_group_name_containing_text_in_any_case(course: Course) -> None:
    course.add_class_groups("Lab 1", "LAB 2", "Tutorial", "Collaboration", "Seminar")
    response = _list(course, where="groupName contains 'lab'")
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 3
    assert _names(response.json()["data"]) == ["Lab 1", "LAB 2", "Collaboration"]


def test_list_matches_percent_and_underscore_in_contains_literally(course: Course) -> None:
    course.add_class_groups("50% off", "500 club", "a_b", "axb")
    assert _names(_data(course, where="groupName contains '50%'")) == ["50% off"]
    assert _names(_data(course, where="groupName contains 'a_b'")) == ["a_b"]


def test_list_filters_by_parent_group(course: Course) -> None:
    lecture, seminar = course.add_class_groups("Lecture", "Seminar")
    course.add_class_groups("Lecture team 1", "Lecture team 2", parent=lecture["id"])
    course.add_class_groups("Seminar team", parent=seminar["id"])
    listed = _data(course, where=f"parentGroupID eq {lecture['id']}")
    assert _names(listed) == ["Lecture team 1", "Lecture team 2"]
    both = _data(course, where=f"groupType eq 1 and parentGroupID ne {lecture['id']}")
    assert _names(both) == ["Seminar team"]


def test_list_refuses_a_where_it_cannot_read(course: Course) -> None:
    _error(_list(course, where="groupName like 'lab'"), 400, "where")
    _error(_list(course, where="colour eq 1"), 400, "where")
    _error(_list(course, where="groupType eq one"), 400, "where", "groupType")
    _error(_list(course, where="parentGroupID eq not-a-uuid"), 400, "where", "parentGroupID")
    _error(_list(course, where="groupType contains 1"), 400, "where", "contains")


def test_a_user_who_does_not_manage_the_module_sees_only_groups_open_to_the_module(course: Course) -> None:
    course.add_class_groups("Staff only", groupAccess=0)
    course.add_class_groups("Members view", groupAccess=1)
    course.add_class_groups("Module view", groupAccess=2)
    course.add_class_groups("Members manage", groupAccess=3)
    outsider = course.tenant.new_key(Role.STAFF, user="another-teacher")
    response = _list(course, key=outsider)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == 2
    assert _names(response.json()["data"]) == ["Module view", "Members manage"]
    reader = course.tenant.new_key(Role.READ_ONLY, user="a-reader")
    assert _names(_data(course, key=reader)) == ["Module view", "Members manage"]


def test_the_modules_manager_sees_all_its_groups(course: Course) -> None:
    course.add_class_groups("Staff only", groupAccess=0)
    course.add_class_groups("Module view", groupAccess=2)
    ta = _grant_staff(course, "ta")
    expected = ["Student Roster", "Guest Group", "Staff only", "Module view"]
    assert _names(_data(course)) == expected
    assert _names(_data(course, key=ta)) == expected
    assert _list(course, key=ta).json()["total"] == 4


def test_listing_an_unknown_module_is_404(tenant: Tenant) -> None:
    _error(tenant.get(f"/user/Resource/{UNKNOWN}/Group"), 404, UNKNOWN)


def test_listing_another_instances_module_is_404(course: Course, make_tenant: Callable[[], Tenant]) -> None:
    _error(make_tenant().get(f"/user/Resource/{course.resource_id}/Group"), 404)


# Found while writing these tests, fixed since: each now a specification of its own.


def test_a_quoted_where_value_may_contain_and(course: Course) -> None:
    _add(course, {"groupName": "Rock and Roll"}, {"groupName": "Rock"})
    names = [g["groupName"] for g in _data(course, where="groupName eq 'Rock and Roll'")]
    assert names == ["Rock and Roll"]


def test_add_answers_dates_in_utc_whatever_the_offset_sent(course: Course) -> None:
    response = _add(
        course,
        {
            "groupName": "Offset",
            "selfEnrol": True,
            "selfEnrolOpenDate": "2030-01-01T08:00:00+08:00",
            "selfEnrolCloseDate": "2030-01-02T08:00:00+08:00",
        },
    )
    assert response.status_code == 200, response.text
    (group,) = response.json()
    assert group["selfEnrolOpenDate"] == "2030-01-01T00:00:00Z"
    assert group["selfEnrolCloseDate"] == "2030-01-02T00:00:00Z"


def test_luminus_validation_errors_say_why(course: Course) -> None:
    backwards = _add(
        course,
        {
            "groupName": "A",
            "selfEnrolOpenDate": "2030-02-01T00:00:00Z",
            "selfEnrolCloseDate": "2030-01-01T00:00:00Z",
        },
    )
    _error(backwards, 400, "classGroup.0", "selfEnrolOpenDate must be before selfEnrolCloseDate")
    naive = _add(course, {"groupName": "A", "selfEnrolOpenDate": "2030-01-01T00:00:00"})
    _error(naive, 400, "give a time zone")
    negative = _add(course, {"groupName": "A", "maxUser": -1})
    _error(negative, 400, "maxUser", "greater than or equal to 0")
