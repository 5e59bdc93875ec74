"""Registering a platform by hand (API), the tool's configuration and its key rotation."""

from __future__ import annotations

from typing import Any

import pytest

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique


def _body(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Canvas",
        "issuer": "https://canvas.example.edu",
        "client_id": unique("10000000000"),
        "auth_login_url": "https://canvas.example.edu/api/lti/authorize_redirect",
        "auth_token_url": "https://canvas.example.edu/login/oauth2/token",
        "key_set_url": "https://canvas.example.edu/api/lti/security/jwks",
        "deployment_ids": ["1:abc"],
        **changes,
    }


def test_a_platform_is_registered_read_changed_and_forgotten(tenant: Tenant) -> None:
    body = _body()
    made = tenant.post("/lti/platforms", json=body)
    assert made.status_code == 200, made.text
    platform = made.json()
    assert {k: platform[k] for k in body} == body
    assert tenant.get("/lti/platforms").json() == [platform]
    assert tenant.get(f"/lti/platforms/{platform['id']}").json() == platform
    changed = tenant.put(
        f"/lti/platforms/{platform['id']}", json={**body, "deployment_ids": ["1:abc", "2:def"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["deployment_ids"] == ["1:abc", "2:def"]
    assert tenant.delete(f"/lti/platforms/{platform['id']}").status_code == 200
    assert tenant.get(f"/lti/platforms/{platform['id']}").status_code == 404
    assert tenant.get("/lti/platforms").json() == []


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"auth_login_url": "http://canvas.example.edu/auth"}, "auth_login_url", "https"),
        ({"key_set_url": "ftp://canvas.example.edu/jwks"}, "key_set_url", "url"),
        ({"issuer": "canvas"}, "issuer", "url"),
        ({"auth_token_url": "https://canvas.example.edu/token#x"}, "auth_token_url", "url"),
        ({"deployment_ids": []}, "deployment_ids", ""),
        ({"deployment_ids": "1"}, "deployment_ids", ""),
        ({"client_id": 10000000000}, "client_id", ""),
        ({"secret": "x"}, "secret", ""),
    ],
)
def test_a_bad_registration_is_refused_naming_the_field_and_nothing_is_registered(
    tenant: Tenant, changes: dict[str, Any], field: str, rule: str
) -> None:
    response = tenant.post("/lti/platforms", json=_body(**changes))
    assert response.status_code == 400, response.text
    errors = response.json()["errors"]
    assert any(field in e["field"] and rule in e["rule"] for e in errors), errors
    assert tenant.get("/lti/platforms").json() == []


def test_http_is_taken_for_this_machines_own_platform_only(tenant: Tenant) -> None:
    local = _body(
        issuer="http://127.0.0.1:8000",
        auth_login_url="http://localhost:8000/auth",
        auth_token_url="http://[::1]:8000/token",
        key_set_url="http://127.0.0.1:8000/jwks",
    )
    assert tenant.post("/lti/platforms", json=local).status_code == 200


def test_one_issuer_and_client_id_is_one_platform_per_instance_and_instances_are_walls(
    tenant: Tenant, make_tenant: Any
) -> None:
    body = _body()
    first = tenant.post("/lti/platforms", json=body).json()
    again = tenant.post("/lti/platforms", json=body)
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "client_id"
    other = make_tenant()
    assert other.post("/lti/platforms", json=body).status_code == 200  # its own registration
    assert other.get(f"/lti/platforms/{first['id']}").status_code == 404
    assert other.delete(f"/lti/platforms/{first['id']}").status_code == 404
    assert [p["id"] for p in tenant.get("/lti/platforms").json()] == [first["id"]]


def test_only_admins_register(tenant: Tenant) -> None:
    staff = tenant.new_key(Role.STAFF, user=unique("staff"))
    assert tenant.post("/lti/platforms", json=_body(), key=staff).status_code == 403
    assert tenant.get("/lti/tool", key=staff).status_code == 403


def test_the_tools_keys_are_published_rotated_and_retired(tenant: Tenant) -> None:
    tool = tenant.get("/lti/tool").json()
    assert tool["login_url"].endswith("/login")
    assert tool["launch_url"].endswith("/launch")
    path = tool["jwks_url"].split("://", 1)[1].split("/", 1)[1]
    first = tenant.http.get("/" + path).json()["keys"]
    assert [k["kty"] for k in first] == ["RSA"]
    assert "d" not in first[0]  # never the private part
    assert tenant.post("/lti/tool/keys").json()["keys"] == 2
    both = tenant.http.get("/" + path).json()["keys"]
    assert first[0] in both
    assert len(both) == 2
    assert tenant.delete("/lti/tool/keys/older").json()["keys"] == 1
    (newest,) = tenant.http.get("/" + path).json()["keys"]
    assert newest != first[0]
    assert newest in both
