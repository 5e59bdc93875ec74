"""/student_clusters end to end."""

from __future__ import annotations

from tests.factories import Tenant


def test_create_then_get_a_cluster(tenant: Tenant) -> None:
    created = tenant.post("/student_clusters", json={"name": "Financial services academy"})
    assert created.status_code == 200
    body = created.json()
    assert set(body) == {"id", "name", "instance_id", "created_at", "updated_at"}
    assert body["name"] == "Financial services academy"
    assert body["instance_id"] == tenant.instance_id
    assert tenant.get(f"/student_clusters/{body['id']}").json() == body


def test_list_returns_every_cluster_of_the_instance_in_id_order(tenant: Tenant) -> None:
    made = [tenant.cluster(f"c{i}") for i in range(3)]
    response = tenant.get("/student_clusters")
    assert response.status_code == 200
    assert response.json() == made
    assert response.headers["X-Total-Count"] == "3"


def test_put_changes_the_name(tenant: Tenant) -> None:
    cluster = tenant.cluster("before")
    response = tenant.put(f"/student_clusters/{cluster['id']}", json={"name": "after"})
    assert response.status_code == 200
    assert response.json()["name"] == "after"
    assert response.json()["created_at"] == cluster["created_at"]


def test_put_with_an_empty_object_changes_nothing(tenant: Tenant) -> None:
    cluster = tenant.cluster("same")
    response = tenant.put(f"/student_clusters/{cluster['id']}", json={})
    assert response.status_code == 200
    assert response.json()["name"] == "same"


def test_put_refuses_a_null_name(tenant: Tenant) -> None:
    cluster = tenant.cluster("kept")
    response = tenant.put(f"/student_clusters/{cluster['id']}", json={"name": None})
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["name"]
    assert tenant.get(f"/student_clusters/{cluster['id']}").json()["name"] == "kept"


def test_delete_an_empty_cluster(tenant: Tenant) -> None:
    cluster = tenant.cluster()
    response = tenant.delete(f"/student_clusters/{cluster['id']}")
    assert response.status_code == 200
    assert response.json()["id"] == cluster["id"]
    assert tenant.get(f"/student_clusters/{cluster['id']}").status_code == 404


def test_delete_a_cluster_with_groups_is_refused_and_changes_nothing(tenant: Tenant) -> None:
    cluster = tenant.cluster()
    group = tenant.group(student_cluster_id=cluster["id"])
    response = tenant.delete(f"/student_clusters/{cluster['id']}")
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert "1 student group" in response.json()["detail"]
    assert tenant.get(f"/student_clusters/{cluster['id']}").status_code == 200
    assert tenant.get(f"/student_groups/{group['id']}").json()["student_cluster_id"] == cluster["id"]


def test_forced_delete_of_a_cluster_detaches_and_keeps_its_groups(tenant: Tenant) -> None:
    cluster = tenant.cluster()
    group = tenant.group(student_cluster_id=cluster["id"])
    response = tenant.delete(f"/student_clusters/{cluster['id']}", params={"force": "true"})
    assert response.status_code == 200
    assert tenant.get(f"/student_clusters/{cluster['id']}").status_code == 404
    kept = tenant.get(f"/student_groups/{group['id']}")
    assert kept.status_code == 200
    assert kept.json()["student_cluster_id"] is None


def test_unknown_cluster_is_404(tenant: Tenant) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = tenant.request(method, "/student_clusters/987654321", json={"name": "x"})
        assert response.status_code == 404, method
        assert response.headers["content-type"] == "application/problem+json"
