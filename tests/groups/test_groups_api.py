"""/student_groups end to end."""

from __future__ import annotations

from tests.factories import Tenant


def test_create_a_group_without_cluster(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json={"name": "Lab group L1"})
    assert response.status_code == 200
    assert response.json()["student_cluster_id"] is None


def test_create_refuses_a_cluster_that_does_not_exist_and_writes_nothing(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json={"name": "orphan", "student_cluster_id": 987654321})
    assert response.status_code == 404
    assert response.json()["errors"][0]["field"] == "student_cluster_id"
    assert tenant.get("/student_groups").json() == []


def test_put_moves_a_group_to_another_cluster_and_back_out(tenant: Tenant) -> None:
    a, b = tenant.cluster(), tenant.cluster()
    group = tenant.group(student_cluster_id=a["id"])
    moved = tenant.put(f"/student_groups/{group['id']}", json={"student_cluster_id": b["id"]})
    assert moved.status_code == 200
    assert moved.json()["student_cluster_id"] == b["id"]
    assert moved.json()["name"] == group["name"]
    out = tenant.put(f"/student_groups/{group['id']}", json={"student_cluster_id": None})
    assert out.status_code == 200
    assert out.json()["student_cluster_id"] is None


def test_put_changes_only_the_fields_sent(tenant: Tenant) -> None:
    cluster = tenant.cluster()
    group = tenant.group("first name", student_cluster_id=cluster["id"])
    response = tenant.put(f"/student_groups/{group['id']}", json={"name": "second name"})
    assert response.json()["student_cluster_id"] == cluster["id"]
    assert response.json()["name"] == "second name"


def test_put_to_an_unknown_cluster_is_refused_and_changes_nothing(tenant: Tenant) -> None:
    group = tenant.group("unchanged")
    response = tenant.put(
        f"/student_groups/{group['id']}", json={"name": "changed", "student_cluster_id": 987654321}
    )
    assert response.status_code == 404
    assert tenant.get(f"/student_groups/{group['id']}").json() == group


def test_delete_an_empty_group(tenant: Tenant) -> None:
    group = tenant.group()
    response = tenant.delete(f"/student_groups/{group['id']}")
    assert response.status_code == 200
    assert response.json() == group
    assert tenant.get(f"/student_groups/{group['id']}").status_code == 404


def test_delete_a_group_with_students_is_refused_and_changes_nothing(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student(student_group_id=group["id"])
    response = tenant.delete(f"/student_groups/{group['id']}")
    assert response.status_code == 409
    assert "1 student" in response.json()["detail"]
    assert tenant.get(f"/students/{student['id']}").json()["student_group_id"] == group["id"]


def test_forced_delete_of_a_group_removes_memberships_and_keeps_students(tenant: Tenant) -> None:
    group = tenant.group()
    student = tenant.student(student_group_id=group["id"])
    response = tenant.delete(f"/student_groups/{group['id']}", params={"force": True})
    assert response.status_code == 200
    kept = tenant.get(f"/students/{student['id']}")
    assert kept.status_code == 200
    assert kept.json()["student_group_id"] is None


def test_name_of_255_characters_is_accepted_and_256_refused(tenant: Tenant) -> None:
    assert tenant.post("/student_groups", json={"name": "n" * 255}).status_code == 200
    response = tenant.post("/student_groups", json={"name": "n" * 256})
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "name"
    assert error["rule"] == "string_too_long"


def test_name_is_required(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json={"student_cluster_id": None})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "name", "in": "body", "rule": "missing", "message": "Field required"}
    ]


def test_name_with_control_characters_is_refused(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", json={"name": "bad\x00name"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"


def test_unicode_and_sql_looking_names_are_stored_as_sent(tenant: Tenant) -> None:
    for name in ("Groupe d'été — 第一组 🎓", "'; DROP TABLE groups; --", 'Robert"); --'):
        group = tenant.group(name)
        assert tenant.get(f"/student_groups/{group['id']}").json()["name"] == name
