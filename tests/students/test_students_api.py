"""/students end to end."""

from __future__ import annotations

from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique

PROFILE: dict[str, Any] = {
    "uid": "learner-00042",
    "name": "Ada Lovelace",
    "sexe": "female",
    "date_of_birth": "1990-12-10",
    "country_of_residence": "United Kingdom",
    "city_of_residence": "London",
    "attributes": {"score": 0.72, "major": "finance", "year": 2},
}


def test_create_a_student_with_the_full_profile(tenant: Tenant) -> None:
    response = tenant.post("/students", json=PROFILE)
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in PROFILE} == PROFILE
    assert body["student_group_id"] is None
    assert body["instance_id"] == tenant.instance_id
    assert set(body) == {
        *PROFILE,
        "id",
        "uuid",
        "student_group_id",
        "instance_id",
        "created_at",
        "updated_at",
    }


def test_only_uid_is_required(tenant: Tenant) -> None:
    body = tenant.post("/students", json={"uid": "x-1"}).json()
    assert body["name"] is None
    assert body["sexe"] is None
    assert body["attributes"] == {}
    missing = tenant.post("/students", json={"name": "no uid"})
    assert missing.status_code == 400
    assert missing.json()["errors"][0]["field"] == "uid"


def test_uid_is_unique_in_the_instance(tenant: Tenant) -> None:
    tenant.student("same-uid")
    response = tenant.post("/students", json={"uid": "same-uid"})
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "uid"
    assert len(tenant.get("/students").json()) == 1


def test_the_same_uid_may_live_in_two_instances(tenant: Tenant, make_tenant: Any) -> None:
    other = make_tenant()
    tenant.student("shared-uid")
    assert other.post("/students", json={"uid": "shared-uid"}).status_code == 200


def test_student_group_id_on_create_places_the_student(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student(student_group_id=group["id"])
    assert student["student_group_id"] == group["id"]
    assert [s["id"] for s in tenant.get(f"/student_groups/{group['id']}/students").json()] == [student["id"]]


def test_put_student_group_id_moves_the_student_between_root_groups(tenant: Tenant) -> None:
    first, second = tenant.group(), tenant.group()
    student = tenant.student(student_group_id=first["id"])
    moved = tenant.put(f"/students/{student['id']}", json={"student_group_id": second["id"]})
    assert moved.status_code == 200
    assert moved.json()["student_group_id"] == second["id"]
    assert tenant.get(f"/student_groups/{first['id']}/students").json() == []
    left = tenant.put(f"/students/{student['id']}", json={"student_group_id": None})
    assert left.json()["student_group_id"] is None
    assert tenant.get(f"/student_groups/{second['id']}/students").json() == []


def test_put_changes_only_the_fields_sent(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.post("/students", json={**PROFILE, "student_group_id": group["id"]}).json()
    response = tenant.put(f"/students/{student['id']}", json={"city_of_residence": "Paris"})
    assert response.status_code == 200
    body = response.json()
    assert body["city_of_residence"] == "Paris"
    assert {k: body[k] for k in PROFILE if k != "city_of_residence"} == {
        k: v for k, v in PROFILE.items() if k != "city_of_residence"
    }
    assert body["student_group_id"] == group["id"]


def test_put_refuses_a_uid_taken_by_another_student(tenant: Tenant) -> None:
    tenant.student("taken")
    other = tenant.student("mine")
    response = tenant.put(f"/students/{other['id']}", json={"uid": "taken"})
    assert response.status_code == 409
    assert tenant.get(f"/students/{other['id']}").json()["uid"] == "mine"


def test_put_to_an_unknown_group_changes_nothing(tenant: Tenant) -> None:
    student = tenant.student(name="Before")
    response = tenant.put(f"/students/{student['id']}", json={"name": "After", "student_group_id": 987654321})
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "student_group_id"
    assert tenant.get(f"/students/{student['id']}").json() == student


def test_delete_a_student_removes_their_memberships(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student(student_group_id=group["id"])
    response = tenant.delete(f"/students/{student['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == student["id"]
    assert tenant.get(f"/students/{student['id']}").status_code == 404
    assert tenant.get(f"/student_groups/{group['id']}/students").json() == []


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("sexe", "other", "enum"),
        ("date_of_birth", "10/12/1990", "date_parsing"),
        ("uid", "", "string_too_short"),
        ("uid", 42, "string_type"),
        ("attributes", {"nested": {"a": 1}}, "string_type"),
        ("attributes", {"flag": True}, "string_type"),
        ("attributes", [1, 2], "dict_type"),
        ("attributes", {"k" * 65: 1}, "string_too_long"),
        ("name", "x" * 256, "string_too_long"),
    ],
)
def test_bad_fields_are_named_with_their_rule_and_nothing_is_written(
    tenant: Tenant, field: str, value: Any, rule: str
) -> None:
    response = tenant.post("/students", json={"uid": "u-bad", field: value})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert any(e["field"].split(".")[0] == field and e["rule"] == rule for e in errors), errors
    assert tenant.get("/students").json() == []


def test_non_finite_numbers_in_attributes_are_refused(tenant: Tenant) -> None:
    response = tenant.post(
        "/students",
        content=b'{"uid": "nan", "attributes": {"score": NaN}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert tenant.get("/students").json() == []


def test_every_list_of_students_answers_each_as_its_own_read_does(tenant: Tenant) -> None:
    group = tenant.group()
    made = [
        tenant.student(
            unique("s"),
            name="Ada Lovelace",
            sexe="female",
            date_of_birth="2008-12-10",
            country_of_residence="UK",
            city_of_residence="London",
            attributes={"score": 0.75, "major": "maths", "year": 2},
            student_group_id=group["id"],
        ),
        tenant.student(unique("s")),
    ]
    reader = tenant.new_key(Role.READ_ONLY, user=unique("reporting"))
    for key in (None, reader):
        listed = tenant.get("/students", key=key).json()
        assert listed == [tenant.get(f"/students/{s['id']}", key=key).json() for s in made]
        members = tenant.get(f"/student_groups/{group['id']}/students", key=key).json()
        assert members == listed[:1]
    assert tenant.get("/students", params={"limit": 1, "offset": 1}).json() == [made[1]]
    assert tenant.get("/students", params={"limit": 0}).json() == []
