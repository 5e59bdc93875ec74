"""Strict input on both surfaces: a field the call does not take is a 400 that names it, and JSON
types are taken as declared. A resource's own read-only fields may be sent back, and are ignored."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.factories import Tenant, unique
from tests.luminus.conftest import make_course


def _errors(response: httpx.Response) -> set[tuple[str, str]]:
    assert response.status_code == 400, response.text
    return {(e["field"], e["rule"]) for e in response.json()["errors"]}


def test_a_misspelt_field_is_refused_by_name_and_nothing_is_made(tenant: Tenant) -> None:
    cluster = tenant.cluster()
    response = tenant.post("/student_groups", json={"name": "typo", "student_clustr_id": cluster["id"]})
    assert _errors(response) == {("student_clustr_id", "unknown_field")}
    assert tenant.get("/student_groups").json() == []


def test_a_misspelt_field_of_a_luminus_call_is_refused_by_name(tenant: Tenant) -> None:
    course = make_course(tenant, students=0)
    response = tenant.post(
        "/user/Groups/ClassGroups",
        json={"resourceID": course.resource_id, "classGroup": [{"groupName": "T1", "maxUsers": 3}]},
    )
    assert response.status_code == 400
    assert "classGroup.0.maxUsers" in response.json()
    assert tenant.get(f"/user/Resource/{course.resource_id}/Group").json()["total"] == 2  # roster, guests
    snake = tenant.post("/user/Groups/Randomise", json={"resource_id": course.resource_id})
    assert snake.status_code == 400
    assert "resource_id" in snake.json()


@pytest.mark.parametrize("sent", ["yes", 1, "true", None])
def test_no_string_or_number_is_a_boolean(tenant: Tenant, sent: Any) -> None:
    course = make_course(tenant, students=2)
    course.add_class_groups("A", "B")
    response = tenant.post(
        "/user/Groups/Randomise", json={"resourceID": course.resource_id, "toUpdate": sent}
    )
    assert response.status_code == 400, response.text
    assert "toUpdate" in response.json()
    (a, b) = (
        g
        for g in tenant.get(f"/user/Resource/{course.resource_id}/Group").json()["data"]
        if g["groupType"] == 1
    )
    assert a["memberCount"] == b["memberCount"] == 0
    refused = tenant.post(
        "/user/Groups/ClassGroups",
        json={"resourceID": course.resource_id, "classGroup": [{"groupName": "C", "selfEnrol": sent}]},
    )
    assert refused.status_code == 400, refused.text


def test_no_string_is_a_number(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student()
    assert _errors(tenant.put(f"/student_groups/{group['id']}", json={"student_cluster_id": "3"})) == {
        ("student_cluster_id", "int_type")
    }
    assert _errors(
        tenant.post(f"/student_groups/{group['id']}/students", json={"student_ids": [str(student["id"])]})
    ) == {("student_ids.0", "int_type")}
    assert _errors(tenant.post("/results", json={"uid": student["uid"], "item": "q", "score": "0.5"})) == {
        ("score", "float_type")
    }
    assert tenant.get(f"/student_groups/{group['id']}/students").json() == []


def test_numbers_are_numbers_and_dates_and_ids_are_their_strings(tenant: Tenant) -> None:
    course = make_course(tenant, students=1)
    made = tenant.post(
        "/user/Groups/ClassGroups",
        json={
            "resourceID": course.resource_id,
            "classGroup": [
                {
                    "groupName": "Window",
                    "selfEnrol": True,
                    "maxUser": 2,
                    "selfEnrolOpenDate": "2027-01-04T00:00:00Z",
                    "selfEnrolCloseDate": "2027-01-11T00:00:00+08:00",
                }
            ],
        },
    )
    assert made.status_code == 200, made.text
    assert made.json()[0]["selfEnrolCloseDate"] == "2027-01-10T16:00:00Z"
    student = course.roster[0]
    stored = tenant.post(
        "/results", json={"student_id": student["id"], "item": "q", "score": 1, "max_score": 2}
    )
    assert stored.status_code == 200
    assert stored.json()["score"] == 1.0
    born = tenant.put(f"/students/{student['id']}", json={"date_of_birth": "2008-12-10", "sexe": "female"})
    assert born.json()["date_of_birth"] == "2008-12-10"


def test_what_a_get_answered_may_be_put_back_whole(tenant: Tenant) -> None:
    cluster = tenant.cluster()
    group = tenant.group(student_cluster_id=cluster["id"])
    student = tenant.student(unique("s"), name="Ada", attributes={"score": 3})
    for path, field, value in (
        (f"/student_clusters/{cluster['id']}", "name", "renamed cluster"),
        (f"/student_groups/{group['id']}", "name", "renamed group"),
        (f"/students/{student['id']}", "name", "Ada Lovelace"),
    ):
        read = tenant.get(path).json()
        echoed = {**read, field: value, "id": 999_999, "created_at": "whenever", "instance_id": 0}
        response = tenant.put(path, json=echoed)
        assert response.status_code == 200, (path, response.text)
        again = tenant.get(path).json()
        assert again[field] == value
        assert (again["id"], again["instance_id"], again["created_at"]) == (
            read["id"],
            read["instance_id"],
            read["created_at"],
        )


def test_a_luminus_class_group_read_may_be_sent_back_to_change_it(tenant: Tenant) -> None:
    course = make_course(tenant, students=0)
    (group,) = course.add_class_groups("T1", maxUser=3)
    read = next(
        g
        for g in tenant.get(f"/user/Resource/{course.resource_id}/Group").json()["data"]
        if g["id"] == group["id"]
    )
    response = tenant.put(
        f"/user/Groups/ClassGroups/{group['id']}", json={**read, "maxUser": 5, "memberCount": 99}
    )
    assert response.status_code == 200, response.text
    assert (response.json()["maxUser"], response.json()["memberCount"]) == (5, 0)


def test_a_bad_body_without_a_key_is_401_not_400(http: httpx.Client) -> None:
    response = http.post("/student_groups", json={"name": 12, "nonsense": True})
    assert response.status_code == 401


def test_the_document_says_bodies_take_no_other_fields(http: httpx.Client) -> None:
    schemas = http.get("/openapi.json").json()["components"]["schemas"]
    for name in (
        "GroupCreate",
        "StudentUpdate",
        "RandomiseRequest",
        "ClassGroupIn",
        "FormationIn",
        "ResultIn",
    ):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["StudentUpdate"]["properties"]["created_at"]["readOnly"] is True
