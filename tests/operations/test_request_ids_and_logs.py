"""X-Request-ID in and out; JSON log lines that carry it; never a key in any of them."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.dependencies import Reader
from studentgroups.main import create_app
from studentgroups.operations.logs import HANDLER_NAME
from studentgroups.settings import Settings
from studentgroups.tables.instances import Role
from tests.factories import Tenant
from tests.live_server import LiveServer
from tests.operations.conftest import StartServer, captured_logs, tenant_on

FRESH_ID = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_comes_back_as_sent(tenant: Tenant) -> None:
    for sent in (
        "abc-123",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "Root=1-5759e988/x+y@q:1.2_3",
    ):
        response = tenant.get("/student_groups", headers={"X-Request-ID": sent})
        assert response.status_code == 200
        assert response.headers["X-Request-ID"] == sent


@pytest.mark.parametrize(
    "sent",
    ["x" * 129, "has space", 'quote"d', "semi;colon", "<script>", "tab\there", "ünïcode"],
)
def test_an_insane_request_id_is_replaced_by_a_fresh_one(http: httpx.Client, sent: str) -> None:
    response = http.get("/healthz", headers=[(b"X-Request-ID", sent.encode())])
    assert FRESH_ID.fullmatch(response.headers["X-Request-ID"])


def test_without_a_request_id_each_answer_gets_its_own(http: httpx.Client) -> None:
    ids = {http.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5
    assert all(FRESH_ID.fullmatch(i) for i in ids)


def test_errors_carry_the_request_id_too(tenant: Tenant, http: httpx.Client) -> None:
    assert http.get("/no/such/path", headers={"X-Request-ID": "r-404"}).headers["X-Request-ID"] == "r-404"
    unauthorised = http.get("/student_groups", headers={"X-Request-ID": "r-401"})
    assert (unauthorised.status_code, unauthorised.headers["X-Request-ID"]) == (401, "r-401")
    invalid = tenant.post("/student_groups", json={"name": ""}, headers={"X-Request-ID": "r-400"})
    assert (invalid.status_code, invalid.headers["X-Request-ID"]) == (400, "r-400")


def test_the_access_line_is_one_json_object_with_the_request_and_the_caller(tenant: Tenant) -> None:
    group = tenant.group()
    with captured_logs() as logs:
        tenant.get(f"/student_groups/{group['id']}", headers={"X-Request-ID": "access-line-1"})
        tenant.get(f"/v1/instances/{tenant.instance_id}/students", headers={"X-Request-ID": "access-line-2"})
    lines = logs.text.splitlines()
    assert lines
    assert all(line.startswith("{") and line.endswith("}") for line in lines)
    access = {r["request_id"]: r for r in logs.records() if r["logger"] == "studentgroups.access"}
    first = access["access-line-1"]
    assert first["level"] == "info"
    assert first["method"] == "GET"
    assert first["path"] == f"/student_groups/{group['id']}"
    assert first["route"] == "/student_groups/{student_group_id}"
    assert first["status"] == 200
    assert first["duration_ms"] >= 0
    assert first["instance_id"] == tenant.instance_id
    assert isinstance(first["key_id"], int)
    assert first["time"].endswith("Z")
    assert access["access-line-2"]["route"] == "/v1/instances/{instance_id}/students"


def test_the_api_key_never_appears_in_any_log_line(
    start_server: StartServer, sessions: sessionmaker[Session]
) -> None:
    limited = start_server(rate_limit_per_minute=1, rate_limit_burst=2, max_body_bytes=2048)
    tenant = tenant_on(limited, sessions)
    revoked = tenant.new_key(Role.READ_ONLY, user="soon-revoked")
    tenant.delete(f"/api_keys/{_key_id(tenant, 'soon-revoked')}")
    unknown = "sg_" + "u" * 43
    keys = [tenant.key, revoked, unknown]
    with captured_logs() as logs:
        url = limited.url
        for key in keys:
            for headers in (
                {"Authorization": f"Token token={key}"},
                {"Authorization": f'Token token="{key}"'},
                {"Authorization": f"Bearer {key}"},
                {"Ocp-Apim-Subscription-Key": key},
                {"X-API-Key": key},
            ):
                httpx.get(f"{url}/student_groups", headers=headers)  # 200, 401, then 429
                httpx.post(f"{url}/student_groups", headers=headers, content=b"{")  # malformed
                httpx.post(f"{url}/results", headers=headers, content=b"[" * 3000)  # too large
                httpx.get(f"{url}/user/Groups/{key}/Results", headers=headers)  # a key in the path
    assert logs.records(), "nothing was logged: the capture is broken"
    for key in keys:
        assert key not in logs.text
        assert key[3:] not in logs.text


def _key_id(tenant: Tenant, user: str) -> int:
    keys = tenant.get("/api_keys").json()
    return int(next(k["id"] for k in keys if k["user"] == user))


@pytest.fixture
def failing_server(database_url: str) -> Iterator[LiveServer]:
    """The service plus a route that fails with an error no handler takes."""
    app = create_app(Settings(database_url=database_url))

    @app.get("/test-only/fail")
    def fail(principal: Reader) -> None:
        raise RuntimeError("the failure of the test")

    live = LiveServer(app).start()
    yield live
    live.stop()


def test_an_unexpected_error_is_logged_with_the_request_id_and_answered_with_it(
    failing_server: LiveServer, tenant: Tenant
) -> None:
    with captured_logs() as logs:
        response = httpx.get(
            f"{failing_server.url}/test-only/fail",
            headers={**tenant.headers(), "X-Request-ID": "the-500"},
        )
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["X-Request-ID"] == "the-500"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Connection"] == "close"
    errors = [r for r in logs.records() if r["logger"] == "studentgroups.errors"]
    assert len(errors) == 1  # once: not again by the server
    assert errors[0]["level"] == "error"
    assert errors[0]["request_id"] == "the-500"
    assert "RuntimeError: the failure of the test" in errors[0]["exception"]
    access = [r for r in logs.records() if r["logger"] == "studentgroups.access"]
    assert [(a["status"], a["route"], a["request_id"]) for a in access] == [
        (500, "/test-only/fail", "the-500")
    ]
    assert tenant.key not in logs.text


def test_text_logs_for_humans(start_server: StartServer) -> None:
    live = start_server(log_format="text")
    installed = next(h for h in logging.getLogger().handlers if h.get_name() == HANDLER_NAME)
    assert isinstance(installed, logging.StreamHandler)
    stream = io.StringIO()
    previous = installed.setStream(stream)
    try:
        httpx.get(f"{live.url}/student_groups", headers={"X-Request-ID": "human-1"})
    finally:
        installed.setStream(previous)
    line = next(line for line in stream.getvalue().splitlines() if "studentgroups.access" in line)
    when = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    assert re.match(rf"{when} INFO +studentgroups\.access \[human-1\] GET /student_groups 401", line)
    assert "route=/student_groups" in line
