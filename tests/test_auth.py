"""Keys: the four header forms, 401 and 403, roles, revocation, and keys at rest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from studentgroups.auth import hash_key, key_from_headers
from studentgroups.db import transaction
from studentgroups.tables.groups import Group
from studentgroups.tables.instances import ApiKey, Role, User
from tests.factories import Tenant


@pytest.mark.parametrize(
    "header",
    [
        ("Authorization", "Token token={key}"),
        ("Authorization", 'Token token="{key}"'),
        ("Authorization", "Bearer {key}"),
        ("Ocp-Apim-Subscription-Key", "{key}"),
        ("X-API-Key", "{key}"),
    ],
)
def test_every_documented_header_form_is_accepted(tenant: Tenant, header: tuple[str, str]) -> None:
    name, template = header
    response = tenant.http.get("/student_groups", headers={name: template.format(key=tenant.key)})
    assert response.status_code == 200


def test_missing_key_is_401(tenant: Tenant) -> None:
    response = tenant.http.get("/student_groups")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Token token=sg_not-a-real-key"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"X-API-Key": "sg_not-a-real-key"},
        {"Ocp-Apim-Subscription-Key": "nope"},
    ],
)
def test_unknown_or_malformed_key_is_401(tenant: Tenant, headers: dict[str, str]) -> None:
    assert tenant.http.get("/student_groups", headers=headers).status_code == 401


def test_read_only_key_reads_but_never_writes(tenant: Tenant) -> None:
    group = tenant.group("kept")
    reader = tenant.new_key(Role.READ_ONLY, user="auditor")
    assert tenant.get("/student_groups", key=reader).status_code == 200
    attempts = [
        ("POST", "/student_groups", {"name": "new"}),
        ("PUT", f"/student_groups/{group['id']}", {"name": "changed"}),
        ("DELETE", f"/student_groups/{group['id']}", None),
        ("POST", "/students", {"uid": "new"}),
        ("POST", "/student_clusters", {"name": "new"}),
    ]
    for method, path, body in attempts:
        response = tenant.request(method, path, key=reader, json=body)
        assert response.status_code == 403, (method, path)
        assert "read-only" in response.json()["detail"]
    assert tenant.get("/student_groups").json() == [group]
    assert tenant.get("/students").json() == []


def test_staff_key_writes_but_does_not_manage_keys(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user="teacher")
    assert tenant.post("/student_groups", key=staff, json={"name": "by staff"}).status_code == 200
    assert tenant.get("/api_keys", key=staff).status_code == 403
    assert tenant.post("/api_keys", key=staff, json={"role": "admin"}).status_code == 403


def test_creator_of_a_group_is_the_keys_user(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user="teacher")
    group = tenant.post("/student_groups", key=staff, json={"name": "mine"}).json()
    with transaction(tenant.sessions) as session:
        creator = session.scalar(
            select(User.name).join(Group, Group.creator_id == User.id).where(Group.id == group["id"])
        )
    assert creator == "teacher"


def test_admin_creates_a_key_shown_once(tenant: Tenant) -> None:
    created = tenant.post("/api_keys", json={"role": "staff", "user": "lab-assistant", "name": "lab laptop"})
    assert created.status_code == 200
    body = created.json()
    secret = body["api_key"]
    assert body["role"] == "staff"
    assert body["user"] == "lab-assistant"
    assert secret.startswith(body["prefix"])
    assert tenant.get("/student_groups", key=secret).status_code == 200
    listed = tenant.get("/api_keys").json()
    assert secret not in str(listed)
    assert {k["id"] for k in listed} >= {body["id"]}


def test_keys_are_stored_hashed(tenant: Tenant) -> None:
    secret = tenant.new_key(Role.STAFF)
    with transaction(tenant.sessions) as session:
        stored = session.scalars(select(ApiKey).where(ApiKey.instance_id == tenant.instance_id)).all()
    columns = [str(getattr(k, c.key)) for k in stored for c in ApiKey.__table__.columns]
    assert all(secret not in value for value in columns)
    assert hash_key(secret) in {k.key_hash for k in stored}


def test_a_revoked_key_is_refused_from_the_next_request_on(tenant: Tenant) -> None:
    created = tenant.post("/api_keys", json={"role": "staff"}).json()
    assert tenant.get("/student_groups", key=created["api_key"]).status_code == 200
    revoked = tenant.delete(f"/api_keys/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert tenant.get("/student_groups", key=created["api_key"]).status_code == 401


def test_a_key_cannot_revoke_itself(tenant: Tenant) -> None:
    own = next(k for k in tenant.get("/api_keys").json() if tenant.key.startswith(k["prefix"]))
    assert tenant.delete(f"/api_keys/{own['id']}").status_code == 409
    assert tenant.get("/student_groups").status_code == 200


def test_bad_role_is_400_naming_the_field(tenant: Tenant) -> None:
    response = tenant.post("/api_keys", json={"role": "superuser"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "role"


@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip() == s and '"' not in s and "=" not in s))
def test_key_from_headers_reads_the_key_back_from_every_form(key: str) -> None:
    assert key_from_headers(f"Token token={key}", None, None) == key
    assert key_from_headers(f'Token token="{key}"', None, None) == key
    assert key_from_headers(f"Bearer {key}", None, None) == key
    assert key_from_headers(None, key, None) == key
    assert key_from_headers(None, None, key) == key


@given(st.text(max_size=40))
def test_key_from_headers_never_fails_on_any_authorization_value(value: str) -> None:
    result = key_from_headers(value, None, None)
    assert result is None or isinstance(result, str)
