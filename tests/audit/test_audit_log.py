"""The audit log over HTTP: every committed write is there (who, what, when), nothing else is,
and only an instance's admins read it."""

from __future__ import annotations

import json
from typing import Any

import httpx

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import make_course
from tests.test_cli import run


def _events(tenant: Tenant, **params: Any) -> list[dict[str, Any]]:
    response = tenant.get("/audit_events", params=params)
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


def _key_id(tenant: Tenant, key: str) -> int:
    return int(next(k["id"] for k in tenant.get("/api_keys").json() if key.startswith(k["prefix"])))


def test_a_write_is_recorded_with_who_what_and_when(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user="ta-maria")
    response = tenant.post(
        "/student_groups", key=staff, json={"name": "Tutorial 1"}, headers={"X-Request-ID": "req-audit-1"}
    )
    assert response.status_code == 200
    group_id = response.json()["id"]

    [event] = _events(tenant)
    assert event["actor"] == "ta-maria"
    assert event["api_key_id"] == _key_id(tenant, staff)
    assert event["user_id"] is not None
    assert (event["method"], event["path"], event["operation"]) == (
        "POST",
        "/student_groups",
        "create_student_group",
    )
    assert event["instance_id"] == tenant.instance_id
    assert event["request_id"] == "req-audit-1"  # the caller's X-Request-ID, to find it in the logs
    assert event["at"] >= response.json()["created_at"]

    tenant.delete(f"/student_groups/{group_id}", params={"force": "true"})
    newest = _events(tenant)[0]
    assert (newest["method"], newest["path"]) == ("DELETE", f"/student_groups/{group_id}?force=true")
    assert newest["operation"] == "delete_student_group"
    assert newest["id"] > event["id"]


def test_reads_previews_and_refused_writes_leave_no_event(tenant: Tenant) -> None:
    reader = tenant.new_key(Role.READ_ONLY)
    course = make_course(tenant, students=6)
    course.add_class_groups("A", "B")
    before = _events(tenant)

    assert tenant.get("/student_groups").status_code == 200
    assert course.randomise(toUpdate=False).status_code == 200  # a preview writes nothing
    assert tenant.post("/student_groups", json={"name": ""}).status_code == 400
    assert tenant.post("/student_groups", key=reader, json={"name": "x"}).status_code == 403
    assert tenant.post("/student_groups", key="sg_not-a-key", json={"name": "x"}).status_code == 401
    assert tenant.delete("/student_groups/999999999").status_code == 404
    assert tenant.post("/students", json={"uid": course.roster[0]["uid"]}).status_code == 409

    assert _events(tenant) == before


def test_bulk_writes_are_recorded_once(tenant: Tenant) -> None:
    course = make_course(tenant, students=4)
    course.add_class_groups("A", "B")
    assert course.randomise(toUpdate=True).status_code == 200
    batch = [{"student_id": s["id"], "item": "quiz", "score": 1} for s in course.roster]
    assert tenant.post("/results", json=batch).status_code == 200

    newest, saved = _events(tenant)[:2]
    assert (newest["method"], newest["path"], newest["operation"]) == ("POST", "/results", "create_results")
    assert saved["operation"] == "randomise"
    assert saved["path"] == "/user/Groups/Randomise"


def test_admins_filter_and_page_the_log(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user="ta")
    for _ in range(3):
        tenant.group(unique("g"))
    for _ in range(2):
        tenant.post("/students", key=staff, json={"uid": unique("s")})

    assert len(_events(tenant)) == 5
    assert {e["actor"] for e in _events(tenant, api_key_id=_key_id(tenant, staff))} == {"ta"}
    assert len(_events(tenant, operation="create_student_group")) == 3
    assert len(_events(tenant, method="post")) == 5
    assert _events(tenant, method="DELETE") == []

    page = tenant.get("/audit_events", params={"limit": 2, "offset": 0})
    assert page.headers["X-Total-Count"] == "5"
    assert [e["id"] for e in page.json()] == [e["id"] for e in _events(tenant)[:2]]
    assert 'rel="next"' in page.headers["Link"]

    newest = _events(tenant)[0]
    assert _events(tenant, **{"from": newest["at"]})[0] == newest
    assert _events(tenant, to="2000-01-01 00:00:00") == []


def test_only_admins_read_the_log(tenant: Tenant) -> None:
    for role in (Role.STAFF, Role.READ_ONLY):
        assert tenant.get("/audit_events", key=tenant.new_key(role)).status_code == 403
    assert tenant.get("/audit_events", key="sg_nobody").status_code == 401


def test_cli_writes_name_the_command_and_the_os_user(database_url: str, tenant: Tenant) -> None:
    made = run(database_url, "key", "create", "--instance", str(tenant.instance_id), "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["api_key"] not in json.dumps(_events(tenant))  # the secret is never logged

    [event] = _events(tenant)
    assert event["actor"].startswith("cli:")
    assert (event["method"], event["operation"]) == ("CLI", "key_create")
    assert event["path"] == f"studentgroups key create --instance {tenant.instance_id} --json"
    assert (event["user_id"], event["api_key_id"]) == (None, None)


def test_the_log_is_the_instance_s_own(tenant: Tenant, make_tenant: Any, http: httpx.Client) -> None:
    other = make_tenant()
    other.group(unique("theirs"))
    tenant.group(unique("mine"))
    [mine] = _events(tenant)
    assert mine["instance_id"] == tenant.instance_id
    [theirs] = _events(other)
    assert theirs["instance_id"] == other.instance_id
    scoped = http.get(f"/v1/instances/{other.instance_id}/audit_events", headers=tenant.headers())
    assert scoped.status_code == 404
