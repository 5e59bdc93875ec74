"""POST /modules/{id}/roster (and guests) with `students`: uids with attributes, created or updated."""

from __future__ import annotations

from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant
from tests.modules.test_modules_api import KINDS, new_module


def _uids(tenant: Tenant, module: dict[str, Any], kind: str) -> list[str]:
    return sorted(s["uid"] for s in tenant.get(f"/modules/{module['id']}/{kind}").json())


@pytest.mark.parametrize("kind", KINDS)
def test_students_with_attributes_are_created_or_updated_and_added(tenant: Tenant, kind: str) -> None:
    module = new_module(tenant)
    known = tenant.student("known", attributes={"year": 2, "score": 1})
    body = {
        "students": [
            {"uid": "known", "attributes": {"score": 71.5, "gender": "F"}},
            {"uid": "new-1", "attributes": {"score": 64, "gender": "M", "major": "law"}},
            {"uid": "new-2"},
        ],
        "categories": {"gender": ["F", "M", "X"]},
    }
    response = tenant.post(f"/modules/{module['id']}/{kind}", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["changed"] == 3
    assert _uids(tenant, module, kind) == ["known", "new-1", "new-2"]
    students = {s["uid"]: s for s in tenant.get("/students").json()}
    assert students["known"]["id"] == known["id"]
    assert students["known"]["attributes"] == {"year": 2, "score": 71.5, "gender": "F"}
    assert students["new-1"]["attributes"] == {"score": 64, "gender": "M", "major": "law"}
    assert students["new-2"]["attributes"] == {}


def test_a_value_outside_a_declared_category_names_the_student_and_writes_nothing(tenant: Tenant) -> None:
    module = new_module(tenant)
    tenant.student("known", attributes={"gender": "F"})
    body = {
        "students": [
            {"uid": "known", "attributes": {"gender": "M"}},
            {"uid": "new-1", "attributes": {"gender": "Q"}},
            {"uid": "new-2", "attributes": {"gender": 3}},
        ],
        "categories": {"gender": ["F", "M", "X"]},
    }
    response = tenant.post(f"/modules/{module['id']}/roster", json=body)
    assert response.status_code == 400
    errors = [(e["field"], e["rule"]) for e in response.json()["errors"]]
    assert errors == [
        ("students.1.attributes.gender", "unknown_value"),
        ("students.2.attributes.gender", "unknown_value"),
    ]
    assert _uids(tenant, module, "roster") == []
    students = tenant.get("/students").json()
    assert [(s["uid"], s["attributes"]) for s in students] == [("known", {"gender": "F"})]


def test_a_uid_given_twice_is_refused_naming_its_second_place(tenant: Tenant) -> None:
    module = new_module(tenant)
    body = {"students": [{"uid": "a"}, {"uid": "b"}, {"uid": "a"}]}
    response = tenant.post(f"/modules/{module['id']}/roster", json=body)
    assert response.status_code == 400
    assert [(e["field"], e["rule"]) for e in response.json()["errors"]] == [("students.2.uid", "unique")]
    assert tenant.get("/students").json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"uids": ["a"], "students": [{"uid": "a"}]},
        {"student_ids": [1], "students": [{"uid": "a"}]},
        {"uids": ["a"], "categories": {"gender": ["F"]}},
        {"students": [{"uid": "a", "colour": "red"}]},
        {"students": [{"uid": "a"}], "categories": {"gender": []}},
    ],
    ids=["uids-and-students", "ids-and-students", "categories-alone", "unknown-field", "no-values"],
)
def test_a_body_that_is_not_one_way_to_name_students_is_refused(tenant: Tenant, body: dict[str, Any]) -> None:
    module = new_module(tenant)
    response = tenant.post(f"/modules/{module['id']}/roster", json=body)
    assert response.status_code == 400, response.text
    assert tenant.get("/students").json() == []


def test_a_uid_of_another_instance_is_a_new_student_here_and_the_other_is_untouched(
    tenant: Tenant, make_tenant: Any
) -> None:
    other = make_tenant()
    theirs = other.student("shared", attributes={"score": 1})
    module = new_module(tenant)
    body = {"students": [{"uid": "shared", "attributes": {"score": 99}}]}
    assert tenant.post(f"/modules/{module['id']}/roster", json=body).status_code == 200
    (mine,) = tenant.get("/students").json()
    assert mine["id"] != theirs["id"]
    assert mine["attributes"] == {"score": 99}
    assert other.get(f"/students/{theirs['id']}").json()["attributes"] == {"score": 1}


def test_only_a_manager_adds_students_with_attributes(tenant: Tenant) -> None:
    module = new_module(tenant)
    outsider = tenant.new_key(Role.STAFF, user="not-a-manager")
    body = {"students": [{"uid": "a", "attributes": {"score": 1}}]}
    assert tenant.post(f"/modules/{module['id']}/roster", key=outsider, json=body).status_code == 403
    assert tenant.get("/students").json() == []
