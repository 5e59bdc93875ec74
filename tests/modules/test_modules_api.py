"""/modules end to end: modules, their rosters and guests, and who manages them."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from studentgroups.db import transaction
from studentgroups.students.service import insert_students
from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique

KINDS = ["roster", "guests"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")

NOBODY_PLACED = {"placed": 0, "unplaced_student_ids": []}
"""What a roster add answers beside its counts where no policy places late enrollees."""


class _AnyTimestamp:
    """Equal to any Domoscio timestamp: for fields a test does not pin."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and TIMESTAMP.match(other) is not None

    def __hash__(self) -> int:
        return 0


ANY_TIMESTAMP: Any = _AnyTimestamp()


def new_module(tenant: Tenant, *, key: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {"code": unique("CS"), "name": "Programming Methodology", **fields}
    response = tenant.post("/modules", key=key, json=body)
    assert response.status_code == 200, response.text
    module: dict[str, Any] = response.json()
    return module


def luminus_groups(tenant: Tenant, module: dict[str, Any]) -> list[dict[str, Any]]:
    response = tenant.get(f"/user/Resource/{module['uuid']}/Group")
    assert response.status_code == 200, response.text
    groups: list[dict[str, Any]] = response.json()["data"]
    return groups


def ids(students: list[dict[str, Any]]) -> list[int]:
    return [s["id"] for s in students]


def on(tenant: Tenant, module: dict[str, Any], kind: str = "roster") -> list[int]:
    response = tenant.get(f"/modules/{module['id']}/{kind}")
    assert response.status_code == 200, response.text
    return ids(response.json())


def bulk_students(tenant: Tenant, count: int) -> list[int]:
    """`count` new students of the tenant, in a few multi-row inserts (as `roster import` makes them)."""
    prefix = unique("bulk")
    with transaction(tenant.sessions) as session:
        made = insert_students(
            session,
            instance_id=tenant.instance_id,
            students=[{"uid": f"{prefix}-{i:05}"} for i in range(count)],
        )
    return sorted(made.values())


# Creating


def test_a_module_is_created_with_its_roster_and_guest_group(tenant: Tenant) -> None:
    response = tenant.post(
        "/modules", json={"code": "CS1010", "name": "Programming Methodology", "description": "Intro"}
    )
    assert response.status_code == 200, response.text
    module = response.json()
    assert set(module) == {
        "id",
        "uuid",
        "code",
        "name",
        "description",
        "roster_group_id",
        "guest_group_id",
        "instance_id",
        "created_at",
        "updated_at",
    }
    assert (module["code"], module["name"], module["description"]) == (
        "CS1010",
        "Programming Methodology",
        "Intro",
    )
    assert module["instance_id"] == tenant.instance_id
    assert uuid.UUID(module["uuid"]).version == 4
    assert TIMESTAMP.match(module["created_at"])
    assert TIMESTAMP.match(module["updated_at"])
    assert module["roster_group_id"] != module["guest_group_id"]

    groups = luminus_groups(tenant, module)
    assert sorted((g["groupType"], g["groupName"]) for g in groups) == [
        (2, "Student Roster"),
        (10, "Guest Group"),
    ]
    assert all(g["resourceID"] == module["uuid"] for g in groups)
    assert tenant.get(f"/student_groups/{module['roster_group_id']}").json()["name"] == "Student Roster"
    assert tenant.get(f"/student_groups/{module['guest_group_id']}").json()["name"] == "Guest Group"


def test_roster_group_id_and_guest_group_id_are_the_groups_the_roster_and_guests_fill(
    tenant: Tenant,
) -> None:
    module = new_module(tenant)
    learner, guest = tenant.student(), tenant.student()
    tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": [learner["id"]]})
    tenant.post(f"/modules/{module['id']}/guests", json={"student_ids": [guest["id"]]})

    roster_members = tenant.get(f"/student_groups/{module['roster_group_id']}/students").json()
    guest_members = tenant.get(f"/student_groups/{module['guest_group_id']}/students").json()
    assert (ids(roster_members), ids(guest_members)) == ([learner["id"]], [guest["id"]])
    counts = {g["groupType"]: g["memberCount"] for g in luminus_groups(tenant, module)}
    assert counts == {2: 1, 10: 1}


def test_a_module_without_description_has_none(tenant: Tenant) -> None:
    assert new_module(tenant)["description"] is None


def test_the_key_of_the_creator_manages_the_module_it_created(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user="lecturer")
    module = new_module(tenant, key=staff)
    student = tenant.student()
    response = tenant.post(
        f"/modules/{module['id']}/roster", key=staff, json={"student_ids": [student["id"]]}
    )
    assert response.status_code == 200, response.text
    assert tenant.put(f"/modules/{module['id']}", key=staff, json={"name": "Renamed"}).status_code == 200


def test_a_module_code_is_unique_in_the_instance(tenant: Tenant) -> None:
    new_module(tenant, code="CS2040")
    response = tenant.post("/modules", json={"code": "CS2040", "name": "Another title"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert [m["code"] for m in tenant.get("/modules").json()] == ["CS2040"]


def test_the_same_code_may_live_in_two_instances(tenant: Tenant, make_tenant: Callable[[], Tenant]) -> None:
    new_module(tenant, code="CS3230")
    other = make_tenant()
    assert other.post("/modules", json={"code": "CS3230", "name": "Algorithms"}).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "", "name": "Programming"}, "code"),
        ({"code": "C" * 65, "name": "Programming"}, "code"),
        ({"code": "CS\x001010", "name": "Programming"}, "code"),
        ({"name": "Programming"}, "code"),
        ({"code": "CS1010"}, "name"),
        ({"code": "CS1010", "name": ""}, "name"),
        ({"code": "CS1010", "name": "N" * 256}, "name"),
        ({"code": 1010, "name": "Programming"}, "code"),
        ({"code": "CS1010", "name": "Programming", "description": "d" * 10_001}, "description"),
    ],
    ids=[
        "empty-code",
        "code-too-long",
        "code-with-control-character",
        "code-missing",
        "name-missing",
        "empty-name",
        "name-too-long",
        "code-not-a-string",
        "description-too-long",
    ],
)
def test_bad_input_on_create_is_a_400_naming_the_field_and_creates_nothing(
    tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = tenant.post("/modules", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 400
    assert field in {e["field"] for e in problem["errors"]}
    assert tenant.get("/modules").json() == []


def test_a_code_of_64_characters_and_a_name_of_255_are_accepted(tenant: Tenant) -> None:
    module = new_module(tenant, code="C" * 64, name="N" * 255)
    assert (len(module["code"]), len(module["name"])) == (64, 255)


def test_a_read_only_key_may_not_create_a_module(tenant: Tenant) -> None:
    reader = tenant.new_key(Role.READ_ONLY, user="auditor")
    response = tenant.post("/modules", key=reader, json={"code": "CS1010", "name": "Programming"})
    assert response.status_code == 403
    assert tenant.get("/modules").json() == []


# Reading


def test_read_one_module(tenant: Tenant) -> None:
    module = new_module(tenant, description="Intro")
    response = tenant.get(f"/modules/{module['id']}")
    assert response.status_code == 200
    assert response.json() == module


def test_a_module_that_does_not_exist_or_is_another_instances_is_not_found(
    tenant: Tenant, make_tenant: Callable[[], Tenant]
) -> None:
    theirs = new_module(make_tenant())
    for module_id in (theirs["id"], 987654321):
        assert tenant.get(f"/modules/{module_id}").status_code == 404
        assert tenant.get(f"/modules/{module_id}/roster").status_code == 404
        assert tenant.put(f"/modules/{module_id}", json={"name": "x"}).status_code == 404
        assert tenant.delete(f"/modules/{module_id}").status_code == 404
    assert tenant.get(f"/modules/{theirs['id']}").json()["detail"] == (
        f"No module with id {theirs['id']} in this instance."
    )


def test_list_modules_whole_or_by_page_with_the_total(tenant: Tenant) -> None:
    made = [new_module(tenant) for _ in range(3)]
    everything = tenant.get("/modules")
    assert everything.status_code == 200
    assert everything.json() == made
    assert everything.headers["X-Total-Count"] == "3"

    page = tenant.get("/modules", params={"limit": 1, "offset": 1})
    assert page.status_code == 200
    assert page.json() == [made[1]]
    assert page.headers["X-Total-Count"] == "3"
    assert 'rel="next"' in page.headers["Link"]
    assert 'rel="prev"' in page.headers["Link"]

    past_the_end = tenant.get("/modules", params={"limit": 2, "offset": 3})
    assert past_the_end.json() == []
    assert past_the_end.headers["X-Total-Count"] == "3"


def test_list_modules_shows_only_the_callers_instance(
    tenant: Tenant, make_tenant: Callable[[], Tenant]
) -> None:
    new_module(make_tenant())
    mine = new_module(tenant)
    assert ids(tenant.get("/modules").json()) == [mine["id"]]


def test_bad_paging_is_a_400_naming_the_parameter(tenant: Tenant) -> None:
    response = tenant.get("/modules", params={"limit": -1})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "limit"


# Updating


def test_update_changes_only_the_fields_sent(tenant: Tenant) -> None:
    module = new_module(tenant, code="CS1231", name="Discrete Structures", description="Logic")
    renamed = tenant.put(f"/modules/{module['id']}", json={"name": "Discrete Mathematics"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json() == {**module, "name": "Discrete Mathematics", "updated_at": ANY_TIMESTAMP}

    recoded = tenant.put(f"/modules/{module['id']}", json={"code": "CS1231S"}).json()
    assert (recoded["code"], recoded["name"], recoded["description"]) == (
        "CS1231S",
        "Discrete Mathematics",
        "Logic",
    )
    assert tenant.get(f"/modules/{module['id']}").json() == recoded


def test_description_null_clears_it_but_code_and_name_may_not_be_null(tenant: Tenant) -> None:
    module = new_module(tenant, description="Intro")
    cleared = tenant.put(f"/modules/{module['id']}", json={"description": None})
    assert cleared.status_code == 200
    assert cleared.json()["description"] is None
    for field in ("code", "name"):
        refused = tenant.put(f"/modules/{module['id']}", json={field: None})
        assert refused.status_code == 400
        assert refused.json()["errors"][0]["field"] == field
    after = tenant.get(f"/modules/{module['id']}").json()
    assert (after["code"], after["name"]) == (module["code"], module["name"])


def test_update_with_a_bad_code_is_a_400_and_changes_nothing(tenant: Tenant) -> None:
    module = new_module(tenant)
    for code in ("", "C" * 65):
        response = tenant.put(f"/modules/{module['id']}", json={"code": code})
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "code"
    assert tenant.get(f"/modules/{module['id']}").json()["code"] == module["code"]


def test_update_to_a_code_another_module_has_is_a_conflict_and_changes_nothing(tenant: Tenant) -> None:
    first = new_module(tenant, code="CS2100")
    second = new_module(tenant, code="CS2106")
    response = tenant.put(f"/modules/{second['id']}", json={"code": "CS2100", "name": "Renamed"})
    assert response.status_code == 409
    assert [e["field"] for e in response.json()["errors"]] == ["code"]
    assert tenant.get(f"/modules/{second['id']}").json() == second
    assert tenant.get(f"/modules/{first['id']}").json() == first


def test_update_to_its_own_code_is_not_a_conflict(tenant: Tenant) -> None:
    module = new_module(tenant, code="CS2030")
    response = tenant.put(f"/modules/{module['id']}", json={"code": "CS2030", "name": "Programming II"})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Programming II"


# Deleting


def test_delete_an_empty_module_and_its_groups(tenant: Tenant) -> None:
    module = new_module(tenant)
    response = tenant.delete(f"/modules/{module['id']}")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == module["id"]
    assert tenant.get(f"/modules/{module['id']}").status_code == 404
    assert tenant.get(f"/user/Resource/{module['uuid']}/Group").status_code == 404
    for group_id in (module["roster_group_id"], module["guest_group_id"]):
        assert tenant.get(f"/student_groups/{group_id}").status_code == 404


@pytest.mark.parametrize("kind", KINDS)
def test_delete_is_refused_while_its_groups_have_members(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    student = tenant.student()
    tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": [student["id"]]})
    response = tenant.delete(f"/modules/{module['id']}")
    assert response.status_code == 409
    assert "force=true" in response.json()["detail"]
    assert tenant.get(f"/modules/{module['id']}").json() == module
    assert on(tenant, module, kind) == [student["id"]]


def test_forced_delete_removes_the_module_and_keeps_its_students(tenant: Tenant) -> None:
    module = new_module(tenant)
    learners, guest = [tenant.student(), tenant.student()], tenant.student()
    tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": ids(learners)})
    tenant.post(f"/modules/{module['id']}/guests", json={"student_ids": [guest["id"]]})
    response = tenant.delete(f"/modules/{module['id']}", params={"force": "true"})
    assert response.status_code == 200, response.text
    assert tenant.get(f"/modules/{module['id']}").status_code == 404
    assert sorted(ids(tenant.get("/students").json())) == sorted([*ids(learners), guest["id"]])


def test_forced_delete_takes_its_class_groups_and_their_sub_groups_too(tenant: Tenant) -> None:
    module = new_module(tenant)
    students = [tenant.student() for _ in range(4)]
    tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": ids(students)})

    def class_groups(*names: str, parent: str | None = None) -> list[dict[str, Any]]:
        response = tenant.post(
            "/user/Groups/ClassGroups",
            json={
                "resourceID": module["uuid"],
                "parentGroupID": parent,
                "classGroup": [{"groupName": n} for n in names],
            },
        )
        assert response.status_code == 200, response.text
        made: list[dict[str, Any]] = response.json()
        return made

    tutorial, _ = class_groups("T1", "T2")
    first, second = class_groups("T1-A", "T1-B", parent=tutorial["id"])
    users = [s["uuid"] for s in students]
    placed = tenant.put(
        "/user/Groups/Users",
        json={
            "iDs_UserGuids": [
                {"key": first["id"], "value": users[:2]},
                {"key": second["id"], "value": users[2:]},
            ]
        },
    )
    assert placed.status_code == 200, placed.text

    refused = tenant.delete(f"/modules/{module['id']}")
    assert refused.status_code == 409
    assert len(luminus_groups(tenant, module)) == 6

    response = tenant.delete(f"/modules/{module['id']}", params={"force": "true"})
    assert response.status_code == 200, response.text
    assert tenant.get(f"/user/Resource/{module['uuid']}/Group").status_code == 404
    assert sorted(ids(tenant.get("/students").json())) == sorted(ids(students))


def test_a_read_only_key_may_not_delete_a_module(tenant: Tenant) -> None:
    module = new_module(tenant)
    reader = tenant.new_key(Role.READ_ONLY)
    assert tenant.delete(f"/modules/{module['id']}", key=reader).status_code == 403
    assert tenant.get(f"/modules/{module['id']}").status_code == 200


# Roster and guests


@pytest.mark.parametrize("kind", KINDS)
def test_add_students_by_id_answers_how_many_changed_and_the_total(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    first, second, third = (tenant.student() for _ in range(3))
    response = tenant.post(
        f"/modules/{module['id']}/{kind}", json={"student_ids": [first["id"], second["id"]]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"changed": 2, "total": 2, **NOBODY_PLACED}

    again = tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": [second["id"], third["id"]]})
    assert again.json() == {"changed": 1, "total": 3, **NOBODY_PLACED}
    assert on(tenant, module, kind) == [first["id"], second["id"], third["id"]]


@pytest.mark.parametrize("kind", KINDS)
def test_adding_a_student_already_on_it_changes_nothing(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    student = tenant.student()
    for _ in range(2):
        response = tenant.post(f"/modules/{module['id']}/{kind}", json={"uids": [student["uid"]]})
        assert response.status_code == 200, response.text
    assert response.json() == {"changed": 0, "total": 1, **NOBODY_PLACED}
    duplicated = tenant.post(
        f"/modules/{module['id']}/{kind}", json={"student_ids": [student["id"], student["id"]]}
    )
    assert duplicated.json() == {"changed": 0, "total": 1, **NOBODY_PLACED}
    assert on(tenant, module, kind) == [student["id"]]


@pytest.mark.parametrize("kind", KINDS)
def test_add_students_by_uid(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    students = [tenant.student(unique("matric")) for _ in range(3)]
    response = tenant.post(f"/modules/{module['id']}/{kind}", json={"uids": [s["uid"] for s in students]})
    assert response.status_code == 200, response.text
    assert response.json() == {"changed": 3, "total": 3, **NOBODY_PLACED}
    assert on(tenant, module, kind) == ids(students)


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_uid_is_named_and_nobody_is_added(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    known = tenant.student()
    response = tenant.post(
        f"/modules/{module['id']}/{kind}", json={"uids": [known["uid"], "no-such-learner"]}
    )
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert "'no-such-learner'" in problem["detail"]
    assert problem["errors"] == [
        {"field": "uids", "in": "body", "rule": "not_found", "message": "no student 'no-such-learner'"}
    ]
    assert on(tenant, module, kind) == []


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_student_id_is_named_and_nobody_is_added(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    known = tenant.student()
    response = tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": [known["id"], 987654321]})
    assert response.status_code == 404
    assert [e["field"] for e in response.json()["errors"]] == ["student_ids"]
    assert "987654321" in response.json()["errors"][0]["message"]
    assert on(tenant, module, kind) == []


def test_another_instances_student_is_unknown_here(tenant: Tenant, make_tenant: Callable[[], Tenant]) -> None:
    module = new_module(tenant)
    theirs = make_tenant().student()
    by_id = tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": [theirs["id"]]})
    by_uid = tenant.post(f"/modules/{module['id']}/roster", json={"uids": [theirs["uid"]]})
    assert (by_id.status_code, by_uid.status_code) == (404, 404)
    assert on(tenant, module) == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"student_ids": [], "uids": None},
        {"student_ids": []},
        {"uids": []},
        {"student_ids": [1], "uids": ["a"]},
        {"student_ids": [0]},
        {"student_ids": ["one"]},
        {"uids": [""]},
    ],
    ids=[
        "neither",
        "empty-and-null",
        "empty-ids",
        "empty-uids",
        "both",
        "id-zero",
        "id-not-int",
        "empty-uid",
    ],
)
def test_a_roster_change_needs_exactly_one_nonempty_list(tenant: Tenant, body: dict[str, Any]) -> None:
    module = new_module(tenant)
    response = tenant.post(f"/modules/{module['id']}/roster", json=body)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


@pytest.mark.parametrize("kind", KINDS)
def test_remove_students_by_id_and_by_uid(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    students = [tenant.student() for _ in range(4)]
    tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": ids(students)})

    by_id = tenant.post(f"/modules/{module['id']}/{kind}/remove", json={"student_ids": [students[0]["id"]]})
    assert by_id.status_code == 200, by_id.text
    assert by_id.json() == {"changed": 1, "total": 3}
    by_uid = tenant.post(
        f"/modules/{module['id']}/{kind}/remove", json={"uids": [students[1]["uid"], students[2]["uid"]]}
    )
    assert by_uid.json() == {"changed": 2, "total": 1}
    assert on(tenant, module, kind) == [students[3]["id"]]
    assert len(tenant.get("/students").json()) == 4


@pytest.mark.parametrize("kind", KINDS)
def test_removing_a_student_who_is_not_on_it_changes_nothing(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    member, outsider = tenant.student(), tenant.student()
    tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": [member["id"]]})
    response = tenant.post(f"/modules/{module['id']}/{kind}/remove", json={"student_ids": [outsider["id"]]})
    assert response.status_code == 200, response.text
    assert response.json() == {"changed": 0, "total": 1}
    assert on(tenant, module, kind) == [member["id"]]


def test_removing_an_unknown_uid_is_named_and_removes_nobody(tenant: Tenant) -> None:
    module = new_module(tenant)
    member = tenant.student()
    tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": [member["id"]]})
    response = tenant.post(f"/modules/{module['id']}/roster/remove", json={"uids": [member["uid"], "ghost"]})
    assert response.status_code == 404
    assert response.json()["errors"][0]["message"] == "no student 'ghost'"
    assert on(tenant, module) == [member["id"]]


def test_the_roster_and_the_guests_are_kept_apart(tenant: Tenant) -> None:
    module = new_module(tenant)
    learner, guest = tenant.student(), tenant.student()
    tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": [learner["id"]]})
    tenant.post(f"/modules/{module['id']}/guests", json={"student_ids": [guest["id"]]})
    assert on(tenant, module, "roster") == [learner["id"]]
    assert on(tenant, module, "guests") == [guest["id"]]
    gone = tenant.post(f"/modules/{module['id']}/guests/remove", json={"student_ids": [learner["id"]]})
    assert gone.json() == {"changed": 0, "total": 1}
    assert on(tenant, module, "roster") == [learner["id"]]


def test_a_student_may_be_on_the_rosters_of_two_modules(tenant: Tenant) -> None:
    first, second = new_module(tenant), new_module(tenant)
    student = tenant.student()
    for module in (first, second):
        response = tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": [student["id"]]})
        assert response.json() == {"changed": 1, "total": 1, **NOBODY_PLACED}
    assert on(tenant, first) == on(tenant, second) == [student["id"]]


def test_being_on_a_roster_leaves_the_students_own_group_alone(tenant: Tenant) -> None:
    module = new_module(tenant)
    group = tenant.group()
    student = tenant.student(student_group_id=group["id"])
    tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": [student["id"]]})
    assert tenant.get(f"/students/{student['id']}").json()["student_group_id"] == group["id"]


@pytest.mark.parametrize("kind", KINDS)
def test_list_the_roster_whole_or_by_page_with_the_total(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    students = [tenant.student() for _ in range(5)]
    tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": ids(students)})

    whole = tenant.get(f"/modules/{module['id']}/{kind}")
    assert whole.status_code == 200
    assert whole.json() == tenant.get("/students").json()
    assert whole.headers["X-Total-Count"] == "5"

    page = tenant.get(f"/modules/{module['id']}/{kind}", params={"limit": 2, "offset": 2})
    assert ids(page.json()) == ids(students[2:4])
    assert page.headers["X-Total-Count"] == "5"
    assert 'rel="next"' in page.headers["Link"]


def test_an_empty_roster_is_an_empty_list(tenant: Tenant) -> None:
    module = new_module(tenant)
    response = tenant.get(f"/modules/{module['id']}/roster")
    assert response.status_code == 200
    assert response.json() == []
    assert response.headers["X-Total-Count"] == "0"


# The 10,000-per-call limit


@pytest.mark.parametrize("field", ["student_ids", "uids"])
def test_more_than_10000_students_in_one_call_is_a_400_naming_the_list(tenant: Tenant, field: str) -> None:
    module = new_module(tenant)
    values: list[Any] = list(range(1, 10_002)) if field == "student_ids" else [f"u{i}" for i in range(10_001)]
    for path in ("roster", "roster/remove", "guests"):
        response = tenant.post(f"/modules/{module['id']}/{path}", json={field: values})
        assert response.status_code == 400, response.text
        assert field in {e["field"] for e in response.json()["errors"]}
    assert on(tenant, module) == []


def test_10000_students_in_one_call_are_accepted(tenant: Tenant) -> None:
    module = new_module(tenant)
    student_ids = bulk_students(tenant, 10_000)

    added = tenant.post(f"/modules/{module['id']}/roster", json={"student_ids": student_ids})
    assert added.status_code == 200, added.text
    assert added.json() == {"changed": 10_000, "total": 10_000, **NOBODY_PLACED}
    listed = tenant.get(f"/modules/{module['id']}/roster", params={"limit": 1})
    assert listed.headers["X-Total-Count"] == "10000"

    uids = [s["uid"] for s in tenant.get("/students", params={"limit": 10_000}).json()]
    guests = tenant.post(f"/modules/{module['id']}/guests", json={"uids": uids})
    assert guests.json() == {"changed": 10_000, "total": 10_000, **NOBODY_PLACED}

    removed = tenant.post(f"/modules/{module['id']}/roster/remove", json={"uids": uids})
    assert removed.json() == {"changed": 10_000, "total": 0}


# Who manages a module


def test_a_staff_key_that_does_not_manage_the_module_is_refused(tenant: Tenant) -> None:
    module = new_module(tenant)
    student = tenant.student()
    outsider = tenant.new_key(Role.STAFF, user="another-lecturer")
    path = f"/modules/{module['id']}"
    refused = [
        tenant.post(f"{path}/roster", key=outsider, json={"student_ids": [student["id"]]}),
        tenant.post(f"{path}/guests/remove", key=outsider, json={"student_ids": [student["id"]]}),
        tenant.put(path, key=outsider, json={"name": "Hijacked"}),
        tenant.delete(path, key=outsider),
        tenant.post(f"{path}/staff", key=outsider, json={"users": ["another-lecturer"]}),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    assert tenant.get(path).json() == module
    assert on(tenant, module) == []


def test_staff_added_to_a_module_may_manage_it(tenant: Tenant) -> None:
    module = new_module(tenant)
    student = tenant.student()
    tutor = tenant.new_key(Role.STAFF, user="tutor")
    before = tenant.post(f"/modules/{module['id']}/roster", key=tutor, json={"student_ids": [student["id"]]})
    assert before.status_code == 403

    granted = tenant.post(f"/modules/{module['id']}/staff", json={"users": ["tutor"]})
    assert granted.status_code == 204, granted.text

    after = tenant.post(f"/modules/{module['id']}/roster", key=tutor, json={"student_ids": [student["id"]]})
    assert after.status_code == 200, after.text
    assert after.json() == {"changed": 1, "total": 1, **NOBODY_PLACED}
    assert tenant.put(f"/modules/{module['id']}", key=tutor, json={"name": "Renamed"}).status_code == 200


def test_staff_of_one_module_do_not_manage_another(tenant: Tenant) -> None:
    theirs, other = new_module(tenant), new_module(tenant)
    tenant.post(f"/modules/{theirs['id']}/staff", json={"users": ["tutor"]})
    tutor = tenant.new_key(Role.STAFF, user="tutor")
    student = tenant.student()
    response = tenant.post(f"/modules/{other['id']}/roster", key=tutor, json={"student_ids": [student["id"]]})
    assert response.status_code == 403


def test_a_read_only_key_never_manages_a_module_even_of_its_staff(tenant: Tenant) -> None:
    module = new_module(tenant)
    student = tenant.student()
    tenant.post(f"/modules/{module['id']}/staff", json={"users": ["auditor"]})
    reader = tenant.new_key(Role.READ_ONLY, user="auditor")
    path = f"/modules/{module['id']}"
    assert tenant.post(f"{path}/roster", key=reader, json={"student_ids": [student["id"]]}).status_code == 403
    assert tenant.post(f"{path}/staff", key=reader, json={"users": ["auditor"]}).status_code == 403
    assert tenant.put(path, key=reader, json={"name": "x"}).status_code == 403
    assert tenant.get(path).json() == module
    assert on(tenant, module) == []


def test_adding_staff_needs_at_least_one_user(tenant: Tenant) -> None:
    module = new_module(tenant)
    response = tenant.post(f"/modules/{module['id']}/staff", json={"users": []})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "users"
