"""POST /students with an array (our extension): all or none, each problem named by its place."""

from __future__ import annotations

from typing import Any

import pytest

from studentgroups.students.schemas import MAX_STUDENTS_PER_CALL
from studentgroups.tables.instances import Role
from tests.factories import Tenant


def _errors(response: Any) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]


def test_an_array_creates_every_student_and_answers_them_in_its_order(tenant: Tenant) -> None:
    group = tenant.group()
    batch = [
        {"uid": "b-2", "name": "Second", "attributes": {"score": 71.5, "major": "law"}},
        {"uid": "b-1", "sexe": "female", "date_of_birth": "2004-05-06", "student_group_id": group["id"]},
        {"uid": "b-3"},
    ]
    response = tenant.post("/students", json=batch)
    assert response.status_code == 200, response.text
    made = response.json()
    assert [s["uid"] for s in made] == ["b-2", "b-1", "b-3"]
    assert made[0]["attributes"] == {"score": 71.5, "major": "law"}
    assert made[1]["sexe"] == "female"
    assert made[1]["date_of_birth"] == "2004-05-06"
    assert [s["student_group_id"] for s in made] == [None, group["id"], None]
    # Each is the student its own read answers, and the root group holds the one placed in it.
    for student in made:
        assert tenant.get(f"/students/{student['id']}").json() == student
    assert [s["uid"] for s in tenant.get(f"/student_groups/{group['id']}/students").json()] == ["b-1"]


def test_a_single_object_is_answered_as_before(tenant: Tenant) -> None:
    response = tenant.post("/students", json={"uid": "solo"})
    assert response.status_code == 200
    assert response.json()["uid"] == "solo"


@pytest.mark.parametrize(
    ("row", "field", "rule"),
    [
        ({"uid": 7}, "1.uid", "string_type"),
        ({"name": "no uid"}, "1.uid", "missing"),
        ({"uid": "x", "colour": "red"}, "1.colour", "unknown_field"),
        ({"uid": "x", "sexe": "other"}, "1.sexe", "enum"),
        ({"uid": "x", "attributes": {"score": True}}, "1.attributes.score", "string_type"),
    ],
)
def test_a_bad_row_is_named_by_its_place_and_nothing_is_created(
    tenant: Tenant, row: dict[str, Any], field: str, rule: str
) -> None:
    response = tenant.post("/students", json=[{"uid": "fine"}, row, {"uid": "also-fine"}])
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    errors = _errors(response)
    assert any(f.startswith(field) and r.startswith(rule) for f, r in errors), errors
    assert tenant.get("/students").json() == []


def test_a_uid_given_twice_names_the_second_place(tenant: Tenant) -> None:
    response = tenant.post("/students", json=[{"uid": "a"}, {"uid": "b"}, {"uid": "a"}])
    assert response.status_code == 400
    assert _errors(response) == [("2.uid", "unique")]
    assert "student 0 of this call" in response.json()["errors"][0]["message"]
    assert tenant.get("/students").json() == []


def test_a_uid_the_instance_has_is_a_conflict_naming_each_place(tenant: Tenant) -> None:
    taken = tenant.student("taken-1")
    tenant.student("taken-2")
    response = tenant.post("/students", json=[{"uid": "new"}, {"uid": "taken-2"}, {"uid": "taken-1"}])
    assert response.status_code == 409
    assert _errors(response) == [("1.uid", "unique"), ("2.uid", "unique")]
    assert f"already student {taken['id']}'s" in response.json()["errors"][1]["message"]
    assert sorted(s["uid"] for s in tenant.get("/students").json()) == ["taken-1", "taken-2"]


def test_a_group_of_another_instance_or_not_a_root_group_is_refused_naming_its_place(
    tenant: Tenant, make_tenant: Any
) -> None:
    other = make_tenant()
    foreign = other.group()
    response = tenant.post("/students", json=[{"uid": "a"}, {"uid": "b", "student_group_id": foreign["id"]}])
    assert response.status_code == 404
    assert _errors(response)[0][0] == "1.student_group_id"
    module = tenant.post("/modules", json={"code": "M1", "name": "Module"}).json()
    class_group = tenant.post(f"/modules/{module['id']}/groups", json={"name": "Lab 1"}).json()
    response = tenant.post("/students", json=[{"uid": "c", "student_group_id": class_group["id"]}])
    assert response.status_code == 400
    assert _errors(response) == [("0.student_group_id", "root_group")]
    assert tenant.get("/students").json() == []
    assert other.get("/students").json() == []


def test_the_same_uids_may_be_created_in_another_instance(tenant: Tenant, make_tenant: Any) -> None:
    other = make_tenant()
    tenant.post("/students", json=[{"uid": "u1"}, {"uid": "u2"}])
    response = other.post("/students", json=[{"uid": "u1"}, {"uid": "u2"}])
    assert response.status_code == 200
    assert {s["instance_id"] for s in response.json()} == {other.instance_id}
    assert len(tenant.get("/students").json()) == 2


def test_an_empty_array_and_one_past_the_limit_are_refused(tenant: Tenant) -> None:
    assert _errors(tenant.post("/students", json=[])) == [("body", "too_short")]
    too_many = [{"uid": f"s{i}"} for i in range(MAX_STUDENTS_PER_CALL + 1)]
    assert _errors(tenant.post("/students", json=too_many)) == [("body", "too_long")]
    assert tenant.get("/students").json() == []


def test_ten_thousand_students_are_created_in_one_call(tenant: Tenant) -> None:
    batch = [{"uid": f"big-{i:05d}", "attributes": {"score": i % 100}} for i in range(MAX_STUDENTS_PER_CALL)]
    response = tenant.post("/students", json=batch)
    assert response.status_code == 200
    made = response.json()
    assert [s["uid"] for s in made] == [row["uid"] for row in batch]
    assert len({s["id"] for s in made}) == MAX_STUDENTS_PER_CALL
    assert tenant.get("/students", params={"limit": 1}).headers["x-total-count"] == str(MAX_STUDENTS_PER_CALL)


@pytest.mark.parametrize("kind", ["read-only", "learner", "learner-staff"])
def test_keys_that_may_not_write_create_no_student_by_array(tenant: Tenant, kind: str) -> None:
    if kind == "read-only":
        key = tenant.new_key(Role.READ_ONLY, user="auditor")
    else:  # a learner's key, of either role: it writes only its own self-enrolment
        learner = tenant.student("the-learner")
        role = "staff" if kind == "learner-staff" else "read-only"
        made = tenant.post("/api_keys", json={"role": role, "student_uid": learner["uid"]})
        assert made.status_code == 200, made.text
        key = made.json()["api_key"]
    response = tenant.post("/students", json=[{"uid": "nope"}], key=key)
    assert response.status_code == 403
    assert "nope" not in [s["uid"] for s in tenant.get("/students").json()]
