"""Tenants are walls: another instance's ids answer 404 on every path, and lists never leak."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError

from studentgroups.db import transaction, utcnow
from studentgroups.tables.groups import Group, Membership
from studentgroups.tenancy import related_in_instance
from tests.factories import Tenant

# A valid body for each write, so that the wall (not validation) is what answers.
BODIES: dict[tuple[str, str], Any] = {
    ("PUT", "/student_clusters/{student_cluster_id}"): {"name": "hijacked"},
    ("PUT", "/student_groups/{student_group_id}"): {"name": "hijacked"},
    ("PUT", "/students/{student_id}"): {"name": "hijacked"},
    ("PUT", "/lti/platforms/{platform_id}"): {
        "name": "hijacked",
        "issuer": "https://lms.example.org",
        "client_id": "hijacked",
        "auth_login_url": "https://lms.example.org/auth",
        "auth_token_url": "https://lms.example.org/token",
        "key_set_url": "https://lms.example.org/jwks",
        "deployment_ids": ["1"],
    },
    ("POST", "/student_groups/{student_group_id}/students"): {"student_ids": ["{student_id}"]},
    ("POST", "/student_clusters"): {"name": "mine"},
    ("POST", "/student_groups"): {"name": "mine"},
    ("POST", "/students"): {"uid": "mine"},
    ("POST", "/api_keys"): {"role": "staff"},
    ("PUT", "/modules/{module_id}"): {"name": "hijacked"},
    ("POST", "/modules/{module_id}/staff"): {"users": ["intruder"]},
    ("POST", "/modules/{module_id}/groups"): {"name": "intruder's group"},
    ("POST", "/student_groups/{student_group_id}/formations"): {"create": {"count": 2}, "save": True},
    ("POST", "/modules/{module_id}/{kind}"): {"student_ids": ["{student_id}"]},
    ("POST", "/modules/{module_id}/{kind}/remove"): {"student_ids": ["{student_id}"]},
    ("PUT", "/modules/{module_id}/groups/{group_id}"): {"max_user": 1},
    ("POST", "/modules/{module_id}/enrolment/groups/{group_id}"): {},
    ("PUT", "/modules/{module_id}/enrolment/policy"): {"admit_guests": True},
    ("POST", "/modules/{module_id}/enrolment/allocate"): {},
    ("POST", "/user/Groups/{groupID}/SelfEnrol"): {},
    ("PUT", "/user/Groups/ClassGroups/{groupID}"): {"maxUser": 1},
}


@pytest.fixture
def victim(make_tenant: Callable[[], Tenant]) -> tuple[Tenant, dict[str, Any]]:
    """An instance with one of everything; its ids by path parameter name."""
    owner = make_tenant()
    cluster = owner.cluster("victim cluster")
    group = owner.group("victim group", student_cluster_id=cluster["id"])
    student = owner.student("victim-uid", student_group_id=group["id"], name="Victim")
    key = owner.post("/api_keys", json={"role": "staff"}).json()
    module = owner.post("/modules", json={"code": "VICTIM101", "name": "Victim module"}).json()
    assert (
        owner.post(f"/modules/{module['id']}/roster", json={"student_ids": [student["id"]]}).status_code
        == 200
    )
    result = owner.post("/results", json={"student_id": student["id"], "item": "quiz", "score": 1}).json()
    class_group = owner.post(
        "/user/Groups/ClassGroups",
        json={"resourceID": module["uuid"], "classGroup": [{"groupName": "victim class"}]},
    ).json()[0]
    formation = owner.post(
        f"/student_groups/{group['id']}/formations", json={"create": {"count": 1}, "save": True}
    ).json()
    platform = owner.post(
        "/lti/platforms", json={**BODIES[("PUT", "/lti/platforms/{platform_id}")], "name": "victim LMS"}
    ).json()
    return owner, {
        "platform_id": platform["id"],
        "formation_id": formation["formation_id"],
        "result_id": result["id"],
        "groupID": class_group["id"],
        "module_id": module["id"],
        "group_id": module["roster_group_id"],
        "kind": "roster",
        "ResourceID": module["uuid"],
        "student_cluster_id": cluster["id"],
        "student_group_id": group["id"],
        "student_id": student["id"],
        "api_key_id": key["id"],
        "instance_id": owner.instance_id,
    }


def _operations(tenant: Tenant) -> list[tuple[str, str]]:
    spec = tenant.http.get("/openapi.json").json()
    return [
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "post", "put", "delete"}
    ]


def _fill(template: str, ids: dict[str, Any]) -> str:
    return template.format(**ids)


def _body(method: str, path: str, ids: dict[str, Any]) -> Any:
    key = (method, path.removeprefix("/v1/instances/{instance_id}"))
    body = BODIES.get(key)
    if isinstance(body, dict) and "student_ids" in body:
        return {"student_ids": [ids["student_id"]]}
    return body


def _snapshot(owner: Tenant) -> dict[str, Any]:
    return {
        path: owner.get(path).json()
        for path in (
            "/student_clusters",
            "/student_groups",
            "/students",
            "/api_keys",
            "/modules",
            "/results",
            "/lti/platforms",
            "/audit_events",  # a refused request wrote nothing, so the log has no new event either
        )
    }


def test_every_path_with_an_id_answers_404_to_another_instance(
    victim: tuple[Tenant, dict[str, Any]], make_tenant: Callable[[], Tenant]
) -> None:
    owner, ids = victim
    intruder = make_tenant()
    before = _snapshot(owner)
    tried: list[str] = []
    for method, template in _operations(intruder):
        object_params = template.replace("{instance_id}", "")
        fillings = []
        if "{" in template:
            fillings.append(ids)  # the victim's ids everywhere, its instance in /v1 paths included
        if "{instance_id}" in template and "{" in object_params:
            fillings.append({**ids, "instance_id": intruder.instance_id})  # own instance, victim's objects
        for path_ids in fillings:
            path = _fill(template, path_ids)
            response = intruder.request(method, path, json=_body(method, template, ids))
            assert response.status_code == 404, (method, path, response.status_code, response.text)
            tried.append(f"{method} {path}")
    assert len(tried) > 30
    assert _snapshot(owner) == before


def test_lists_never_show_another_instances_rows(
    victim: tuple[Tenant, dict[str, Any]], make_tenant: Callable[[], Tenant]
) -> None:
    intruder = make_tenant()
    intruder.group("mine")
    for path in (
        "/student_clusters",
        "/student_groups",
        "/students",
        "/api_keys",
        "/results",
        "/audit_events",
    ):
        for prefix in ("", f"/v1/instances/{intruder.instance_id}"):
            rows = intruder.get(prefix + path).json()
            assert all(row["instance_id"] == intruder.instance_id for row in rows), path
    assert [g["name"] for g in intruder.get("/student_groups").json()] == ["mine"]


def test_another_instances_cluster_or_group_in_a_body_is_404_and_writes_nothing(
    victim: tuple[Tenant, dict[str, Any]], make_tenant: Callable[[], Tenant]
) -> None:
    _, ids = victim
    intruder = make_tenant()
    attempts = [
        intruder.post("/student_groups", json={"name": "x", "student_cluster_id": ids["student_cluster_id"]}),
        intruder.post("/students", json={"uid": "x", "student_group_id": ids["student_group_id"]}),
    ]
    own_group = intruder.group("own")
    attempts.append(
        intruder.post(
            f"/student_groups/{own_group['id']}/students", json={"student_ids": [ids["student_id"]]}
        )
    )
    assert [a.status_code for a in attempts] == [404, 404, 404]
    assert intruder.get("/students").json() == []
    assert [g["id"] for g in intruder.get("/student_groups").json()] == [own_group["id"]]


def test_another_instances_key_cannot_be_revoked(
    victim: tuple[Tenant, dict[str, Any]], make_tenant: Callable[[], Tenant]
) -> None:
    owner, ids = victim
    intruder = make_tenant()
    assert intruder.delete(f"/api_keys/{ids['api_key_id']}").status_code == 404
    assert all(k["revoked_at"] is None for k in owner.get("/api_keys").json())


def test_v1_paths_serve_the_callers_own_instance(tenant: Tenant) -> None:
    group = tenant.group("through v1")
    prefix = f"/v1/instances/{tenant.instance_id}"
    assert tenant.get(f"{prefix}/student_groups").json() == [group]
    assert tenant.get(f"{prefix}/student_groups/{group['id']}").json() == group
    created = tenant.post(f"{prefix}/students", json={"uid": "v1-student", "student_group_id": group["id"]})
    assert created.status_code == 200
    assert tenant.get(f"/students/{created.json()['id']}").json()["student_group_id"] == group["id"]


def test_v1_paths_naming_another_instance_are_404(tenant: Tenant, make_tenant: Callable[[], Tenant]) -> None:
    other = make_tenant()
    assert tenant.get(f"/v1/instances/{other.instance_id}/student_groups").status_code == 404
    assert (
        tenant.post(f"/v1/instances/{other.instance_id}/student_groups", json={"name": "x"}).status_code
        == 404
    )
    assert other.get("/student_groups").json() == []


def test_the_database_itself_refuses_a_membership_across_two_instances(
    make_tenant: Callable[[], Tenant],
) -> None:
    mine, theirs = make_tenant(), make_tenant()
    group, student = mine.group("mine"), theirs.student("theirs")
    for instance_id in (mine.instance_id, theirs.instance_id):
        with pytest.raises(IntegrityError), transaction(mine.sessions) as session:
            session.execute(
                insert(Membership).values(
                    group_id=group["id"],
                    student_id=student["id"],
                    instance_id=instance_id,
                    sibling_scope="root",
                    exclusive=True,
                    created_at=utcnow(),
                )
            )
    assert mine.get(f"/student_groups/{group['id']}/students").json() == []


def test_a_row_read_by_an_id_off_another_row_never_comes_from_another_instance(
    make_tenant: Callable[[], Tenant],
) -> None:
    """`tenancy.related_in_instance`, which reads parents, siblings and queued groups by id: the
    caller's own row, found; another instance's, None as if it did not exist (identity map or not)."""
    mine, theirs = make_tenant(), make_tenant()
    own = mine.post("/student_groups", json={"name": "mine"}).json()["id"]
    other = theirs.post("/student_groups", json={"name": "theirs"}).json()["id"]
    with transaction(mine.sessions) as session:
        found = related_in_instance(session, Group, own, mine.instance_id)
        assert found is not None
        assert found.id == own
        assert related_in_instance(session, Group, other, mine.instance_id) is None
        loaded = session.get(Group, other)  # now in the identity map: still refused
        assert loaded is not None
        assert related_in_instance(session, Group, other, mine.instance_id) is None
        assert related_in_instance(session, Group, other, mine.instance_id, refresh=True) is None
        assert related_in_instance(session, Group, None, mine.instance_id) is None
