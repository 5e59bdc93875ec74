"""Bodies too large (413) or nested too deep (400): refused before any route runs, nothing written."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.settings import Settings
from tests.factories import Tenant, unique
from tests.live_server import LiveServer
from tests.operations.conftest import StartServer, tenant_on

LIMIT = 4096


@pytest.fixture
def small(start_server: StartServer) -> LiveServer:
    """The service accepting bodies of at most 4 KiB."""
    return start_server(max_body_bytes=LIMIT)


def results_batch(uid: str, rows: int) -> list[dict[str, Any]]:
    return [{"uid": uid, "item": f"quiz-{i}", "score": 1, "max_score": 2} for i in range(rows)]


def raw_exchange(live: LiveServer, head: str, body_parts: list[bytes]) -> bytes:
    """Sends the head and the parts (never the end of a chunked body); what the server answers."""
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as conn:
        conn.sendall(head.encode())
        for part in body_parts:
            conn.sendall(part)
        answer = b""
        while b"\r\n\r\n" not in answer or not _complete(answer):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return False


def test_a_declared_length_over_the_limit_is_answered_413_before_a_byte_of_body_is_sent(
    small: LiveServer, sessions: sessionmaker[Session]
) -> None:
    tenant = tenant_on(small, sessions)
    head = (
        "POST /results HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Token token={tenant.key}\r\nContent-Length: 100000000\r\n\r\n"
    )
    answer = raw_exchange(small, head, [])  # the body never comes: the answer must not wait for it
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 413")
    head_lines, _, body = rest.partition(b"\r\n\r\n")
    assert b"content-type: application/problem+json" in head_lines.lower()
    problem = json.loads(body)
    assert problem["status"] == 413
    assert problem["type"] == "urn:studentgroups:problem:content-too-large"
    assert problem["errors"][0]["rule"] == "max_body_bytes"


def test_a_chunked_body_is_answered_413_as_soon_as_it_crosses_the_limit_and_writes_nothing(
    small: LiveServer, sessions: sessionmaker[Session]
) -> None:
    tenant = tenant_on(small, sessions)
    uid = tenant.student()["uid"]
    text = json.dumps(results_batch(uid, 200)).encode()
    assert len(text) > 2 * LIMIT
    head = (
        "POST /results HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Authorization: Token token={tenant.key}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    parts = [b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (text[:3000], text[3000 : 2 * LIMIT])]
    answer = raw_exchange(small, head, parts)  # the final zero-length chunk is never sent
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"connection: close" in answer.lower()  # the rest of the body is not read: no next request
    assert tenant.get("/results").json() == []


def test_a_whole_body_over_the_limit_is_413_and_writes_nothing(
    small: LiveServer, sessions: sessionmaker[Session]
) -> None:
    tenant = tenant_on(small, sessions)
    uid = tenant.student()["uid"]
    too_many = results_batch(uid, 100)
    assert len(json.dumps(too_many)) > LIMIT
    response = tenant.post("/results", json=too_many)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert tenant.get("/results").json() == []

    fits = results_batch(uid, 20)
    assert len(json.dumps(fits)) <= LIMIT
    created = tenant.post("/results", json=fits)
    assert created.status_code == 200, created.text
    assert len(tenant.get("/results").json()) == 20


def test_413_on_the_luminus_surface_is_a_json_string(
    small: LiveServer, sessions: sessionmaker[Session]
) -> None:
    tenant = tenant_on(small, sessions)
    response = tenant.post(
        "/user/Groups/ClassGroups",
        json={
            "resourceID": "00000000-0000-0000-0000-000000000000",
            "classGroup": [{"groupName": "x" * LIMIT}],
        },
    )
    assert response.status_code == 413
    message = response.json()
    assert isinstance(message, str)
    assert f"larger than the {LIMIT} bytes" in message


def test_the_default_limit_takes_the_largest_legitimate_batch() -> None:
    longest = "x" * 255
    batch = [
        {
            "uid": longest,
            "item": longest,
            "score": 1e12,
            "max_score": 1e12,
            "recorded_at": "2026-09-01 12:00:00",
        }
        for _ in range(10_000)
    ]
    size = len(json.dumps(batch).encode())
    assert size < Settings().max_body_bytes / 2  # 6.4 MB of 16 MiB


DEEP_BODIES = {
    "arrays": b"[" * 100_000 + b"]" * 100_000,
    "objects": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "unclosed": b"[" * 100_000,
    "just past the limit": b'{"name": ' + b"[" * 65 + b"]" * 65 + b"}",
    "mixed": b'{"classGroup": ' + b'[{"a": ' * 40 + b"1" + b"}]" * 40 + b"}",
}


def _paths(tenant: Tenant) -> list[tuple[str, str]]:
    group = tenant.group()
    return [
        ("POST", "/student_groups"),
        ("PUT", f"/student_groups/{group['id']}"),
        ("POST", f"/student_groups/{group['id']}/students"),
        ("POST", f"/v1/instances/{tenant.instance_id}/student_clusters"),
        ("POST", "/results"),
        ("POST", "/modules"),
        ("POST", "/user/Groups/Randomise"),
        ("POST", "/user/Groups/ClassGroups"),
        ("PUT", "/user/Groups/Users"),
    ]


@pytest.mark.parametrize("kind", list(DEEP_BODIES))
def test_deep_nesting_is_400_naming_the_rule_on_every_route(tenant: Tenant, kind: str) -> None:
    before = tenant.get("/student_groups").json()
    for method, path in _paths(tenant):
        for content_type in ("application/json", "application/json-patch+json", None):
            headers = {"Content-Type": content_type} if content_type else {}
            response = tenant.request(method, path, content=DEEP_BODIES[kind], headers=headers)
            assert response.status_code == 400, (method, path, response.text)
            if path.startswith("/user/"):
                message = response.json()
                assert isinstance(message, str)
                assert "more than 64 deep" in message
            else:
                problem = response.json()
                assert problem["type"] == "urn:studentgroups:problem:json-too-deep"
                assert problem["errors"] == [
                    {
                        "field": "body",
                        "in": "body",
                        "rule": "json_max_depth",
                        "message": "nested deeper than 64 levels",
                    }
                ]
    assert len(tenant.get("/student_groups").json()) == len(before) + 1  # the one _paths made


def test_nesting_up_to_the_limit_and_brackets_inside_strings_are_fine(tenant: Tenant) -> None:
    name = "[" * 200 + '"{' + "]" * 54
    created = tenant.post("/student_groups", json={"name": name[:255]})
    assert created.status_code == 200, created.text
    assert created.json()["name"] == name[:255]
    at_the_limit = b'{"name": ' + b"[" * 63 + b"]" * 63 + b"}"  # 64 deep: a shape error, not a depth one
    response = tenant.post("/student_groups", content=at_the_limit)
    assert response.status_code == 400
    assert response.json()["type"] == "urn:studentgroups:problem:validation"


def test_a_deep_body_with_a_foreign_content_type_is_left_to_the_415(tenant: Tenant) -> None:
    response = tenant.post("/student_groups", content=b"[" * 1000, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


HUGE = [
    ("POST", "/student_groups", {"name": "x" * 5_000_000}),
    ("POST", "/students", {"uid": unique("uid"), "name": "é" * 2_000_000}),
    ("POST", "/results", list(range(1_000_000))),
    ("POST", "/results", {"uid": "x", "item": "quiz", "score": 10**4000}),
    ("POST", "/modules", {"code": [0.5] * 1_000_000, "name": "n"}),
    ("POST", "/user/Groups/ClassGroups", {"resourceID": "x", "classGroup": [{"groupName": "g"}] * 200_000}),
    ("PUT", "/user/Groups/Users", {"iDs_UserGuids": [{"key": "k", "value": ["v"] * 1_000_000}]}),
]


@pytest.mark.parametrize(("method", "path", "body"), HUGE, ids=[f"{m} {p}" for m, p, _ in HUGE])
def test_huge_json_within_the_limit_is_400_never_500(
    tenant: Tenant, method: str, path: str, body: object
) -> None:
    response = tenant.request(method, path, json=body, timeout=120)
    assert response.status_code == 400, response.text[:500]


def test_a_list_of_a_million_ids_to_add_is_400(tenant: Tenant) -> None:
    group = tenant.group()
    response = tenant.post(
        f"/student_groups/{group['id']}/students", json={"student_ids": list(range(1, 10**6))}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["rule"] == "too_long"
