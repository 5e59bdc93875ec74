"""Learners' data stays theirs: what a learner's key, a read-only key and a staff key read of students.

The kinds of key and their rules are in `studentgroups.permissions`; `tests/test_permissions.py`
proves who may call each operation. These tests prove what the answers hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course

PROFILE = {
    "name": "Ada Lovelace",
    "sexe": "female",
    "date_of_birth": "2008-12-10",
    "country_of_residence": "UK",
    "city_of_residence": "London",
}
CIVIL_FIELDS = tuple(PROFILE)


@dataclass
class Class:
    """A module whose four students have a civil profile; two of them share a level-2 group."""

    tenant: Tenant
    course: Course
    me: dict[str, Any]
    mate: dict[str, Any]  # in my group
    stranger: dict[str, Any]  # on the module, in no group of mine
    group_id: int  # our group, on the Domoscio surface
    group_uuid: str


def learner_key(tenant: Tenant, student: dict[str, Any], role: str = "read-only") -> str:
    made = tenant.post("/api_keys", json={"role": role, "student_uid": student["uid"]})
    assert made.status_code == 200, made.text
    key: str = made.json()["api_key"]
    return key


@pytest.fixture
def klass(tenant: Tenant) -> Class:
    me, mate, stranger = (tenant.student(unique("s"), **PROFILE, attributes={"score": 7}) for _ in range(3))
    course = make_course(tenant, students=0)
    tenant.post(
        f"/modules/{course.module['id']}/roster", json={"student_ids": [me["id"], mate["id"], stranger["id"]]}
    )
    (ours,) = course.add_class_groups(unique("ours"), groupAccess=2)
    tenant.put(
        "/user/Groups/Users",
        json={"iDs_UserGuids": [{"key": ours["id"], "value": [me["uuid"], mate["uuid"]]}]},
    )
    group_id = next(g["id"] for g in tenant.get("/student_groups").json() if g["name"] == ours["groupName"])
    return Class(tenant, course, me, mate, stranger, group_id, ours["id"])


def test_a_learner_lists_only_its_own_record_with_its_whole_profile(klass: Class) -> None:
    key = learner_key(klass.tenant, klass.me)
    listed = klass.tenant.get("/students", key=key, params={"limit": 1})
    assert listed.status_code == 200
    assert listed.headers["X-Total-Count"] == "1"
    (record,) = listed.json()
    assert record["id"] == klass.me["id"]
    assert {f: record[f] for f in CIVIL_FIELDS} == PROFILE
    assert record["uid"] == klass.me["uid"]
    assert klass.tenant.get(f"/students/{klass.me['id']}", key=key).json() == record


def test_another_students_record_answers_a_learner_exactly_as_a_missing_one(klass: Class) -> None:
    key = learner_key(klass.tenant, klass.me)
    missing_id = klass.stranger["id"] + 100_000
    other = klass.tenant.get(f"/students/{klass.mate['id']}", key=key)
    missing = klass.tenant.get(f"/students/{missing_id}", key=key)
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace(str(klass.mate["id"]), "X") == missing.json()["detail"].replace(
        str(missing_id), "X"
    )


def test_a_learner_reads_only_its_own_results(klass: Class) -> None:
    tenant = klass.tenant
    mine = tenant.post("/results", json={"uid": klass.me["uid"], "item": "quiz", "score": 1}).json()
    theirs = tenant.post("/results", json={"uid": klass.mate["uid"], "item": "quiz", "score": 0}).json()
    key = learner_key(tenant, klass.me)
    assert [r["id"] for r in tenant.get("/results", key=key).json()] == [mine["id"]]
    assert tenant.get("/results", key=key, params={"uid": klass.mate["uid"]}).json() == []
    assert tenant.get("/results", key=key, params={"student_id": klass.mate["id"]}).json() == []
    assert tenant.get(f"/results/{theirs['id']}", key=key).status_code == 404
    assert tenant.get(f"/results/{mine['id']}", key=key).status_code == 200


def test_a_learners_key_with_role_staff_writes_no_result_nor_student(klass: Class) -> None:
    tenant = klass.tenant
    key = learner_key(tenant, klass.me, role="staff")
    before = tenant.get("/results").json()
    attempts = [
        tenant.post("/results", key=key, json={"uid": klass.mate["uid"], "item": "quiz", "score": 1}),
        tenant.post("/results", key=key, json={"uid": klass.me["uid"], "item": "quiz", "score": 1}),
        tenant.put(f"/students/{klass.me['id']}", key=key, json={"name": "Me"}),
        tenant.post("/students", key=key, json={"uid": unique("mine")}),
        tenant.post("/student_clusters", key=key, json={"name": "mine"}),
    ]
    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert "learner's key" in attempts[0].json()["detail"]
    assert tenant.get("/results").json() == before


def test_a_learner_reads_its_fellow_members_names_and_nothing_more(klass: Class) -> None:
    key = learner_key(klass.tenant, klass.me)
    members = {
        s["id"]: s for s in klass.tenant.get(f"/student_groups/{klass.group_id}/students", key=key).json()
    }
    assert set(members) == {klass.me["id"], klass.mate["id"]}
    mate = members[klass.mate["id"]]
    assert mate["name"] == PROFILE["name"]
    assert mate["uuid"] == klass.mate["uuid"]
    assert all(
        mate[f] is None for f in ("uid", "sexe", "date_of_birth", "country_of_residence", "city_of_residence")
    )
    assert mate["attributes"] == {}
    assert mate["student_group_id"] is None
    mine = members[klass.me["id"]]
    assert {f: mine[f] for f in CIVIL_FIELDS} == PROFILE
    assert mine["attributes"] == {"score": 7}


def test_a_learners_search_shows_names_but_only_its_own_uid(klass: Class) -> None:
    key = learner_key(klass.tenant, klass.me)
    found = klass.tenant.get(f"/user/Resource/{klass.course.resource_id}/Group/Search", key=key).json()[
        "data"
    ]
    rows = {row["userID"]: row for row in found}
    assert set(rows) == {klass.me["uuid"], klass.mate["uuid"]}  # the stranger is in no group open to me
    assert rows[klass.me["uuid"]]["uid"] == klass.me["uid"]
    assert rows[klass.mate["uuid"]]["uid"] is None
    assert rows[klass.mate["uuid"]]["name"] == PROFILE["name"]


def test_a_search_finds_students_only_by_what_the_caller_may_read_of_them(klass: Class) -> None:
    tenant = klass.tenant
    path = f"/user/Resource/{klass.course.resource_id}/Group/Search"

    def found(key: str | None, text: str) -> set[str]:
        response = tenant.get(path, key=key, params={"text": text})
        assert response.status_code == 200, response.text
        return {row["userID"] for row in response.json()["data"]}

    me, mate = klass.me["uuid"], klass.mate["uuid"]
    learner = learner_key(tenant, klass.me)
    assert found(learner, klass.mate["uid"]) == set()  # a learner never finds a uid it cannot read
    assert found(learner, klass.me["uid"]) == {me}
    assert found(learner, "lovelace") == {me, mate}
    reader = tenant.new_key(Role.READ_ONLY, user=unique("reporting"))
    assert found(reader, "lovelace") == set()  # nor a read-only key a name
    assert found(reader, klass.mate["uid"]) == {mate}
    assert me in found(None, "lovelace")


def test_read_only_keys_read_no_civil_profile_and_staff_keys_read_it_whole(klass: Class) -> None:
    tenant = klass.tenant
    reader = tenant.new_key(Role.READ_ONLY, user=unique("reporting"))
    staff = tenant.new_key(Role.STAFF, user=unique("teacher"))
    for path in ("/students", f"/students/{klass.me['id']}", f"/student_groups/{klass.group_id}/students"):
        read = tenant.get(path, key=reader).json()
        for record in read if isinstance(read, list) else [read]:
            assert all(record[f] is None for f in CIVIL_FIELDS), (path, record)
            assert record["uid"]
            assert record["attributes"] == {"score": 7}
        written = tenant.get(path, key=staff).json()
        for record in written if isinstance(written, list) else [written]:
            assert {f: record[f] for f in CIVIL_FIELDS} == PROFILE, path
    found = tenant.get(f"/user/Resource/{klass.course.resource_id}/Group/Search", key=reader).json()["data"]
    assert found
    assert all(row["name"] is None and row["uid"] for row in found)


def test_a_learner_reads_only_the_modules_it_is_on(klass: Class) -> None:
    tenant = klass.tenant
    elsewhere = make_course(tenant, students=0)
    key = learner_key(tenant, klass.me)
    assert [m["id"] for m in tenant.get("/modules", key=key).json()] == [klass.course.module["id"]]
    assert tenant.get(f"/modules/{elsewhere.module['id']}", key=key).status_code == 404


def test_a_learner_sets_a_level_3_groups_members_only_among_the_modules_students(klass: Class) -> None:
    tenant = klass.tenant
    (team,) = klass.course.add_class_groups(unique("team"), groupAccess=3)
    tenant.put(
        "/user/Groups/Users", json={"iDs_UserGuids": [{"key": team["id"], "value": [klass.me["uuid"]]}]}
    )
    team_id = next(g["id"] for g in tenant.get("/student_groups").json() if g["name"] == team["groupName"])
    key = learner_key(tenant, klass.me, role="staff")
    outsider = tenant.student(unique("outsider"))
    off_module = tenant.put(f"/student_groups/{team_id}/students/{outsider['id']}", key=key)
    missing = tenant.put(f"/student_groups/{team_id}/students/{outsider['id'] + 100_000}", key=key)
    assert off_module.status_code == missing.status_code == 404
    assert off_module.json()["errors"][0]["rule"] == missing.json()["errors"][0]["rule"] == "not_found"
    added = tenant.put(f"/student_groups/{team_id}/students/{klass.stranger['id']}", key=key)
    assert added.status_code == 200, added.text
    assert added.json()["uid"] is None  # a fellow member now: the name only
    assert {s["id"] for s in tenant.get(f"/student_groups/{team_id}/students").json()} == {
        klass.me["id"],
        klass.stranger["id"],
    }


def test_a_learner_never_changes_an_instances_own_group(klass: Class) -> None:
    tenant = klass.tenant
    own = tenant.group(unique("own"))
    key = learner_key(tenant, klass.me, role="staff")
    assert tenant.get(f"/student_groups/{own['id']}", key=key).status_code == 200
    assert tenant.put(f"/student_groups/{own['id']}", key=key, json={"name": "mine"}).status_code == 403
    assert tenant.put(f"/student_groups/{own['id']}/students/{klass.me['id']}", key=key).status_code == 403
    assert tenant.get(f"/student_groups/{own['id']}").json()["name"] == own["name"]


def test_only_managers_of_every_module_a_student_is_on_change_or_delete_them(klass: Class) -> None:
    tenant = klass.tenant
    me = klass.me
    memberships = len(tenant.get(f"/students/{me['id']}/export").json()["memberships"])
    assert memberships == 2  # the roster and our group
    bystander = tenant.new_key(Role.STAFF, user=unique("bystander"))
    assert tenant.put(f"/students/{me['id']}", key=bystander, json={"name": "Hijacked"}).status_code == 403
    refused = tenant.delete(f"/students/{me['id']}", key=bystander)
    assert refused.status_code == 403
    assert klass.course.module["code"] in refused.json()["detail"]
    assert len(tenant.get(f"/students/{me['id']}/export").json()["memberships"]) == 2

    manager_user = unique("manager")
    tenant.post(f"/modules/{klass.course.module['id']}/staff", json={"users": [manager_user]})
    manager = tenant.new_key(Role.STAFF, user=manager_user)
    assert (
        tenant.put(f"/students/{me['id']}", key=manager, json={"city_of_residence": "Paris"}).status_code
        == 200
    )
    other = make_course(tenant, students=0)
    tenant.post(f"/modules/{other.module['id']}/guests", json={"student_ids": [me["id"]]})
    on_two = tenant.delete(f"/students/{me['id']}", key=manager)
    assert on_two.status_code == 403  # it does not manage the second module
    assert other.module["code"] in on_two.json()["detail"]
    assert tenant.delete(f"/students/{me['id']}").status_code == 200  # admin keys may


def test_a_students_learner_keys_go_with_the_student(klass: Class) -> None:
    key = learner_key(klass.tenant, klass.me)
    assert klass.tenant.get("/students", key=key).status_code == 200
    assert klass.tenant.delete(f"/students/{klass.me['id']}").status_code == 200
    assert klass.tenant.get("/students", key=key).status_code == 401
    assert all(k["student_id"] != klass.me["id"] for k in klass.tenant.get("/api_keys").json())


# Making learners' keys ------------------------------------------------------------------------


def test_a_learners_key_gets_a_user_of_its_own_and_the_platform_keeps_acting_for_others(
    tenant: Tenant,
) -> None:
    course = make_course(tenant, students=2)
    alice, bob = course.roster
    made = tenant.post("/api_keys", json={"role": "read-only", "student_uid": alice["uid"]})
    assert made.status_code == 200, made.text
    assert made.json()["user"] == f"learner:{alice['id']}"
    assert (made.json()["kind"], made.json()["student_uid"]) == ("learner", alice["uid"])
    listed = {k["id"]: k for k in tenant.get("/api_keys").json()}
    assert listed[made.json()["id"]]["student_uid"] == alice["uid"]
    assert {k["kind"] for k in listed.values() if k["id"] != made.json()["id"]} == {"admin"}
    # The admin's own key still acts for any learner: it was never made alice's.
    (group,) = course.add_class_groups(unique("open"), selfEnrol=True)
    joined = tenant.post(f"/user/Groups/{group['id']}/SelfEnrol", json={"userID": bob["uuid"]})
    assert joined.status_code == 200, joined.text
    assert tenant.get("/students", params={"limit": 1}).headers["X-Total-Count"] == "2"
    again = tenant.post("/api_keys", json={"role": "staff", "student_uid": alice["uid"]})
    assert again.json()["user"] == made.json()["user"]  # the learner's one user


def test_binding_a_user_that_acts_for_the_platform_is_a_409_that_says_why(tenant: Tenant) -> None:
    student = tenant.student(unique("s"))
    tenant.post("/api_keys", json={"role": "staff", "user": "sync-bot"})
    for user in ("admin", "sync-bot"):
        refused = tenant.post(
            "/api_keys", json={"role": "read-only", "user": user, "student_uid": student["uid"]}
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["errors"][0] == {
            "field": "user",
            "in": "body",
            "rule": "platform_user",
            "message": f"{user!r} acts for the platform",
        }
        assert "its other keys" in refused.json()["detail"]
    assert all(k["student_id"] is None for k in tenant.get("/api_keys").json())


def test_a_learners_key_is_never_admin(tenant: Tenant) -> None:
    student = tenant.student(unique("s"))
    refused = tenant.post("/api_keys", json={"role": "admin", "student_uid": student["uid"]})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "role"
    assert refused.json()["errors"][0]["rule"] == "learner_role"
    learner = tenant.post("/api_keys", json={"role": "read-only", "student_uid": student["uid"]}).json()
    by_name = tenant.post("/api_keys", json={"role": "admin", "user": learner["user"]})
    assert by_name.status_code == 400
    assert [k["id"] for k in tenant.get("/api_keys").json() if k["student_id"]] == [learner["id"]]


@pytest.mark.parametrize("name", ["cli:root", "system:self-enrolment", "learner:1", " CLI:root", "System:x"])
def test_user_names_the_service_keeps_for_its_own_actors_are_refused(tenant: Tenant, name: str) -> None:
    refused = tenant.post("/api_keys", json={"role": "staff", "user": name})
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["rule"] == "reserved_prefix"
    module = tenant.post("/modules", json={"code": unique("M"), "name": "M"}).json()
    staffed = tenant.post(f"/modules/{module['id']}/staff", json={"users": [name]})
    assert staffed.status_code == 400
    assert all(k["user"] != name for k in tenant.get("/api_keys").json())


def test_a_learners_user_never_manages_a_module(tenant: Tenant) -> None:
    student = tenant.student(unique("s"))
    learner = tenant.post(
        "/api_keys", json={"role": "staff", "user": unique("ada"), "student_uid": student["uid"]}
    ).json()
    module = tenant.post("/modules", json={"code": unique("M"), "name": "M"}).json()
    refused = tenant.post(f"/modules/{module['id']}/staff", json={"users": [learner["user"]]})
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["rule"] == "learner_user"
    assert (
        tenant.put(f"/modules/{module['id']}", key=learner["api_key"], json={"name": "mine"}).status_code
        == 403
    )
