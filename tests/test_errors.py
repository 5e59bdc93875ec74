"""Bad requests: problem documents that name the field and the rule, and nothing written."""

from __future__ import annotations

import pytest

from tests.factories import Tenant


def test_malformed_json_is_400_and_says_where(tenant: Tenant) -> None:
    response = tenant.post(
        "/student_groups", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:studentgroups:problem:malformed-json"
    assert body["errors"][0]["field"] == "body"
    assert "character 9" in body["errors"][0]["message"]
    assert tenant.get("/student_groups").json() == []


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_empty_body_is_411(tenant: Tenant, method: str) -> None:
    group = tenant.group()
    path = "/student_groups" if method == "POST" else f"/student_groups/{group['id']}"
    response = tenant.request(method, path, headers={"Content-Type": "application/json"})
    assert response.status_code == 411
    assert response.json()["status"] == 411


def test_a_body_without_content_type_is_read_as_json(tenant: Tenant) -> None:
    response = tenant.http.post("/student_groups", content=b'{"name": "no header"}', headers=tenant.headers())
    assert response.status_code == 200


def test_a_non_json_content_type_is_415(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", data={"name": "form"})
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "Content-Type"
    assert tenant.get("/student_groups").json() == []


def test_json_patch_content_type_is_json(tenant: Tenant) -> None:
    response = tenant.post(
        "/student_groups",
        content=b'{"name": "patchy"}',
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code == 200


def test_wrong_types_are_each_named(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json={"name": 12, "student_cluster_id": "abc"})
    assert response.status_code == 400
    fields = {(e["field"], e["rule"]) for e in response.json()["errors"]}
    assert fields == {("name", "string_type"), ("student_cluster_id", "int_type")}


def test_a_body_that_is_not_an_object_is_400(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json=["name"])
    assert response.status_code == 400


@pytest.mark.parametrize("bad_id", ["abc", "0", "-1", "9223372036854775808", "1.5"])
def test_malformed_path_ids_are_400_never_500(tenant: Tenant, bad_id: str) -> None:
    response = tenant.get(f"/student_groups/{bad_id}")
    assert response.status_code == 400
    assert response.json()["errors"][0]["in"] == "path"


def test_huge_ids_in_the_body_are_400(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json={"name": "x", "student_cluster_id": 2**70})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "student_cluster_id"


def test_wrong_method_is_405_problem(tenant: Tenant) -> None:
    response = tenant.request("PATCH", "/student_groups")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_path_is_404_problem(tenant: Tenant) -> None:
    response = tenant.get("/no_such_thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("params", [{"limit": -1}, {"offset": -5}, {"limit": "ten"}])
def test_bad_paging_parameters_are_400(tenant: Tenant, params: dict[str, object]) -> None:
    response = tenant.get("/student_groups", params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["in"] == "query"
