"""Hostile input: names full of unicode, SQL and wildcards, control characters, broken encodings,
raw HTTP that no client library would send, and revoked keys. Nothing answers 5xx, nothing
refused is written, and a stored name comes back byte for byte."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.factories import Tenant, unique
from tests.luminus.conftest import make_course

# Accepted as they are: each must come back exactly, and match only itself when searched for.
NASTY_NAMES = [
    "Robert'); DROP TABLE students;--",
    "' OR '1'='1",
    '" OR 1=1 --',
    "1; SELECT pg_sleep(10)",
    "100% _done_ \\ back\\slash",
    "%",
    "_",
    "Zoë Ångström-Łukasiewicz",
    "名前 グループ 그룹",
    "😀👩‍👩‍👧‍👦🏳️‍🌈",
    "e\u0301 combining",
    "\u202eRTL override\u202c",
    "zero\u200bwidth",
    "<script>alert(1)</script>",
    "${jndi:ldap://x}",
    "\U0001f600" * 255,  # 255 characters of four bytes each: the limit counts characters
]

# Refused, with the rule named, and nothing written.
REFUSED_NAMES = [
    ("nul\x00byte", "control_character"),
    ("escape\x1b[31m", "control_character"),
    ("bell\x07", "control_character"),
    ("tab\tinside", "control_character"),
    ("line\nbreak", "control_character"),
    ("carriage\rreturn", "control_character"),
    ("next\x85line", "control_character"),
    ("line\u2028separator", "control_character"),
    (" ", "blank"),
    ("\t", "control_character"),
    ("\u00a0\u3000", "blank"),
    ("x" * 256, "string_too_long"),
    ("", "string_too_short"),
]


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, (response.status_code, response.text)
    return response.json()


def _counts(tenant: Tenant) -> dict[str, str]:
    return {
        path: tenant.get(path, params={"limit": 0}).headers["X-Total-Count"]
        for path in ("/student_clusters", "/student_groups", "/students", "/modules", "/audit_events")
    }


@pytest.mark.parametrize("name", NASTY_NAMES, ids=range(len(NASTY_NAMES)))
def test_a_nasty_name_is_stored_exactly_on_both_surfaces_and_searched_literally(
    tenant: Tenant, name: str
) -> None:
    cluster = tenant.cluster(name)
    group = tenant.group(name, student_cluster_id=cluster["id"])
    student = tenant.student(name, name=name, student_group_id=group["id"])
    assert (cluster["name"], group["name"], student["uid"], student["name"]) == (name, name, name, name)
    assert _ok(tenant.get(f"/student_groups/{group['id']}"))["name"] == name
    assert _ok(tenant.get(f"/students/{student['id']}"))["name"] == name

    course = make_course(tenant, students=2)
    module = _ok(tenant.put(f"/modules/{course.module['id']}", json={"name": name, "description": name}))
    assert (module["name"], module["description"]) == (name, name)
    [mine] = course.add_class_groups(name)
    [plain] = course.add_class_groups("plain")
    assert mine["groupName"] == name
    first, second = (str(s["uuid"]) for s in course.roster)
    put = tenant.put(
        "/user/Groups/Users",
        json={
            "iDs_UserGuids": [{"key": mine["id"], "value": [first]}, {"key": plain["id"], "value": [second]}]
        },
    )
    assert put.status_code == 200, put.text

    # The student in the group of that name, and no other: `%` and `_` are not wildcards.
    found = _ok(tenant.get(f"/user/Resource/{course.resource_id}/Group/Search", params={"text": name}))
    assert [row["userID"] for row in found["data"]] == [first]
    # Whatever the name, the tables are all still there and hold what they held.
    assert tenant.get("/students", params={"limit": 0}).headers["X-Total-Count"] == "3"


@pytest.mark.parametrize(("name", "rule"), REFUSED_NAMES, ids=[r for _, r in REFUSED_NAMES])
def test_a_refused_name_names_the_field_and_rule_and_writes_nothing(
    tenant: Tenant, name: str, rule: str
) -> None:
    course = make_course(tenant, students=1)
    before = _counts(tenant)
    attempts: list[tuple[httpx.Response, str]] = [
        (tenant.post("/student_clusters", json={"name": name}), "name"),
        (tenant.post("/student_groups", json={"name": name}), "name"),
        (tenant.post("/students", json={"uid": name}), "uid"),
        (tenant.post("/modules", json={"code": unique("M"), "name": name}), "name"),
        (tenant.put(f"/modules/{course.module['id']}", json={"name": name}), "name"),
    ]
    for response, field in attempts:
        assert response.status_code == 400, response.text
        [error] = response.json()["errors"]
        assert (error["field"], error["rule"]) == (field, rule)
    luminus = tenant.post(
        "/user/Groups/ClassGroups",
        json={"resourceID": course.resource_id, "classGroup": [{"groupName": name}]},
    )
    assert luminus.status_code == 400
    assert "classGroup.0.groupName" in luminus.json()
    assert _counts(tenant) == before


@pytest.mark.parametrize("text", ["nul\x00", "line\nbreak\r\n", "bell\x07", "x" * 10_001])
def test_free_text_refuses_what_no_database_can_store(tenant: Tenant, text: str) -> None:
    course = make_course(tenant, students=1)
    response = tenant.put(f"/modules/{course.module['id']}", json={"description": text})
    if text.startswith("line"):  # tabs and line breaks belong in free text
        assert _ok(response)["description"] == text
        return
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "description"


def test_hostile_query_strings_are_refused_or_matched_literally(tenant: Tenant) -> None:
    course = make_course(tenant, students=2)
    course.add_class_groups("plain")
    search = f"/user/Resource/{course.resource_id}/Group/Search"
    for text in ["%", "_", "' OR 1=1 --", "\\", "%25", "a" * 10_000]:
        response = tenant.get(search, params={"text": text})
        assert response.status_code in (200, 400), response.text
        if response.status_code == 200:
            assert response.json()["data"] == []
    for params in ({"item": "' OR 1=1 --"}, {"student_id": "1 OR 1=1"}, {"limit": "-1"}, {"offset": "1e9"}):
        response = tenant.get("/results", params=params)
        assert response.status_code in (200, 400), (params, response.text)
        if response.status_code == 200:
            assert response.json() == []


def _raw(url: str, request: bytes) -> bytes:
    """One request as raw bytes on a new connection; the whole answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


@pytest.mark.parametrize(
    "request_line_and_headers",
    [
        b"GET /student_groups/%FF%FE HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n",
        b"GET /results?item=%ED%A0%80 HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n",
        b"GET /student_groups HTTP/1.1\r\nHost: x\r\nX-API-Key: \xff\xfe\xc3\x28\r\n",
        b"GET /student_groups HTTP/1.1\r\nHost: x\r\nAuthorization: Token token=\xe2\x82\r\n",
        b"GET /student_groups/1%00 HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\n",
        b"POST /student_groups HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Type: application/json"
        b'\r\nContent-Length: 11\r\n\r\n{"name": \xff}',
        b"POST /student_groups HTTP/1.1\r\nHost: x\r\nX-API-Key: {key}\r\nContent-Type: application/json"
        b"\r\nContent-Length: 2\r\n\r\n\xef\xbb",
    ],
    ids=[
        "bad-path-utf8",
        "surrogate-in-query",
        "binary-key",
        "truncated-key",
        "nul-in-path",
        "binary-in-json",
        "truncated-bom",
    ],
)
def test_raw_requests_no_client_would_send_get_a_4xx(
    tenant: Tenant, server: Any, request_line_and_headers: bytes
) -> None:
    before = _counts(tenant)
    request = request_line_and_headers.replace(b"{key}", tenant.key.encode())
    if b"\r\n\r\n" not in request:
        request += b"Connection: close\r\n\r\n"
    else:
        head, body = request.split(b"\r\n\r\n", 1)
        request = head + b"\r\nConnection: close\r\n\r\n" + body
    answer = _raw(server.url, request)
    if b"/results?item=" in request:  # undecodable text matches nothing, or is refused
        assert answer.endswith(b"\r\n\r\n[]") or 400 <= _status(answer) < 500, answer[:300]
    else:
        assert 400 <= _status(answer) < 500, answer[:300]
    assert _counts(tenant) == before


def test_a_revoked_key_is_refused_on_every_operation_and_writes_nothing(
    tenant: Tenant, make_tenant: Callable[[], Tenant]
) -> None:
    made = _ok(tenant.post("/api_keys", json={"role": "admin", "user": "leaver"}))
    leaver = made["api_key"]
    assert tenant.get("/student_groups", key=leaver).status_code == 200
    _ok(tenant.delete(f"/api_keys/{made['id']}"))
    group = tenant.group("still mine")
    before = _counts(tenant)

    spec = tenant.get("/openapi.json").json()
    tried = 0
    for template, item in spec["paths"].items():
        for method in item:
            if "Operations" in item[method].get("tags", []):
                continue  # health, readiness and metrics need no key
            path = (
                template.replace("{instance_id}", str(tenant.instance_id))
                .replace("{student_group_id}", str(group["id"]))
                .replace("{kind}", "roster")
            )
            path = _fill_ids(path)
            response = tenant.request(method.upper(), path, key=leaver, json={})
            assert response.status_code == 401, (method, path, response.status_code, response.text)
            tried += 1
    assert tried > 60
    assert _counts(tenant) == before


def _fill_ids(path: str) -> str:
    """Any id left in the path: an integer for Domoscio ids, a UUID for LumiNUS ones."""
    uuid_params = ("resource", "groupid")
    return "/".join(
        ("00000000-0000-4000-8000-000000000000" if any(u in part.lower() for u in uuid_params) else "1")
        if part.startswith("{")
        else part
        for part in path.split("/")
    )


def test_nul_in_any_query_parameter_is_refused_by_name(tenant: Tenant) -> None:
    # Found by `make fuzz` on PostgreSQL: GET /results?item=%00 answered 500.
    course = make_course(tenant, students=1)
    for path, name in [
        ("/results", "item"),
        (f"/user/Resource/{course.resource_id}/Group/Search", "text"),
        ("/audit_events", "operation"),
        ("/student_groups", "unknown_parameter"),
    ]:
        response = tenant.get(path, params={name: "a\x00b"})
        assert response.status_code == 400, (path, response.text)
        if not path.startswith("/user/"):
            [error] = response.json()["errors"]
            assert (error["field"], error["in"], error["rule"]) == (name, "query", "no_nul")
        else:
            assert name in response.json()
