"""Rate limits per key (per address without one): 429 with Retry-After, in memory or shared in Redis."""

from __future__ import annotations

import socket
import time
import uuid

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.operations import rate_limiter
from studentgroups.operations.ratelimit import MemoryLimiter
from studentgroups.settings import POSTGRES_RATE_LIMIT_PER_MINUTE, Settings
from tests.factories import Tenant
from tests.operations.conftest import StartServer, captured_logs, tenant_on

REDIS_URL = "redis://127.0.0.1:6379/0"


def redis_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


needs_redis = pytest.mark.skipif(not redis_reachable(), reason="Redis is not reachable at 127.0.0.1:6379")


def assert_limited(response: httpx.Response, limit: int) -> int:
    """Checks a 429 and returns its Retry-After."""
    assert response.status_code == 429, response.text
    retry_after = int(response.headers["Retry-After"])
    assert retry_after >= 1
    assert response.headers["RateLimit-Limit"] == str(limit)
    assert response.headers["RateLimit-Remaining"] == "0"
    return retry_after


def test_off_by_default_on_the_embedded_database_and_generous_on_postgresql(
    start_server: StartServer, sessions: sessionmaker[Session], on_postgres: bool
) -> None:
    assert rate_limiter(Settings(database_url="sqlite:///anywhere.db")) is None
    on_pg = rate_limiter(Settings(database_url="postgresql+psycopg://u@db.internal/sg"))
    assert isinstance(on_pg, MemoryLimiter)
    assert (on_pg.rate * 60, on_pg.limit) == (POSTGRES_RATE_LIMIT_PER_MINUTE, POSTGRES_RATE_LIMIT_PER_MINUTE)
    assert rate_limiter(Settings(database_url="postgresql+psycopg://u@h/sg", rate_limit_per_minute=0)) is None
    # A server with the defaults of the suite's database.
    tenant = tenant_on(start_server(), sessions)
    for _ in range(30):
        response = tenant.get("/student_groups")
        assert response.status_code == 200
        if on_postgres:
            assert response.headers["RateLimit-Limit"] == str(POSTGRES_RATE_LIMIT_PER_MINUTE)
        else:
            assert "RateLimit-Limit" not in response.headers


def test_a_key_gets_its_burst_then_429_with_retry_after(
    start_server: StartServer, sessions: sessionmaker[Session]
) -> None:
    live = start_server(rate_limit_per_minute=1, rate_limit_burst=2)
    tenant = tenant_on(live, sessions)
    first, second = tenant.get("/student_groups"), tenant.get("/student_groups")
    assert (first.status_code, second.status_code) == (200, 200)
    assert [first.headers["RateLimit-Remaining"], second.headers["RateLimit-Remaining"]] == ["1", "0"]
    assert first.headers["RateLimit-Limit"] == "2"

    limited = tenant.get("/student_groups")
    retry_after = assert_limited(limited, 2)
    assert retry_after <= 60  # one token a minute
    assert limited.headers["content-type"] == "application/problem+json"
    problem = limited.json()
    assert (problem["status"], problem["type"]) == (429, "urn:studentgroups:problem:too-many-requests")
    # Every form of the same key draws on the same bucket; writes are refused as well.
    assert_limited(tenant.get("/student_groups", headers={"X-API-Key": tenant.key}), 2)
    assert_limited(tenant.post("/student_groups", json={"name": "refused"}), 2)
    # Another key has a bucket of its own.
    other = tenant_on(live, sessions)
    assert other.get("/student_groups").status_code == 200


def test_429_on_the_luminus_surface_is_a_json_string(
    start_server: StartServer, sessions: sessionmaker[Session]
) -> None:
    live = start_server(rate_limit_per_minute=1, rate_limit_burst=1)
    tenant = tenant_on(live, sessions)
    path = f"/user/Resource/{uuid.uuid4()}/Group"
    assert tenant.get(path).status_code == 404
    limited = tenant.get(path)
    assert_limited(limited, 1)
    message = limited.json()
    assert isinstance(message, str)
    assert "Too many requests" in message


def test_requests_without_a_key_are_limited_by_address(start_server: StartServer) -> None:
    live = start_server(rate_limit_per_minute=1, rate_limit_burst=2)
    with httpx.Client(base_url=live.url) as anonymous:
        assert [anonymous.get("/student_groups").status_code for _ in range(2)] == [401, 401]
        assert_limited(anonymous.get("/student_groups"), 2)
        assert_limited(anonymous.get("/no/such/path"), 2)


def test_probes_and_metrics_are_never_limited(start_server: StartServer) -> None:
    live = start_server(rate_limit_per_minute=1, rate_limit_burst=1)
    with httpx.Client(base_url=live.url) as client:
        for _ in range(5):
            for path in ("/healthz", "/readyz", "/metrics"):
                response = client.get(path)
                assert response.status_code == 200, path
                assert "RateLimit-Limit" not in response.headers


def test_a_bucket_refills_and_the_key_is_served_again(
    start_server: StartServer, sessions: sessionmaker[Session]
) -> None:
    live = start_server(rate_limit_per_minute=120, rate_limit_burst=1)  # a token every half second
    tenant = tenant_on(live, sessions)
    retry_after = assert_limited(first_refusal(tenant), 1)
    assert retry_after == 1  # whole seconds, rounded up
    time.sleep(retry_after)
    assert tenant.get("/student_groups").status_code == 200


def first_refusal(tenant: Tenant) -> httpx.Response:
    """Calls until refused: on a slow machine a token may come back between two calls."""
    for _ in range(50):
        response = tenant.get("/student_groups")
        if response.status_code != 200:
            return response
    raise AssertionError("50 calls, none refused")


@needs_redis
def test_workers_share_one_budget_in_redis(
    start_server: StartServer, sessions: sessionmaker[Session]
) -> None:
    first = start_server(rate_limit_per_minute=1, rate_limit_burst=3, rate_limit_redis_url=REDIS_URL)
    second = start_server(rate_limit_per_minute=1, rate_limit_burst=3, rate_limit_redis_url=REDIS_URL)
    on_first = tenant_on(first, sessions)
    on_second = httpx.Client(base_url=second.url)
    assert on_first.get("/student_groups").status_code == 200
    assert on_first.get("/student_groups").status_code == 200
    last = on_second.get("/student_groups", headers=on_first.headers())
    assert last.status_code == 200
    assert last.headers["RateLimit-Remaining"] == "0"
    assert_limited(on_second.get("/student_groups", headers=on_first.headers()), 3)
    assert_limited(on_first.get("/student_groups"), 3)


@needs_redis
def test_a_redis_bucket_refills(start_server: StartServer, sessions: sessionmaker[Session]) -> None:
    live = start_server(rate_limit_per_minute=120, rate_limit_burst=1, rate_limit_redis_url=REDIS_URL)
    tenant = tenant_on(live, sessions)
    retry_after = assert_limited(first_refusal(tenant), 1)
    time.sleep(retry_after)
    assert tenant.get("/student_groups").status_code == 200


def test_with_redis_unreachable_requests_go_on_and_a_warning_says_so(
    start_server: StartServer, sessions: sessionmaker[Session]
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    live = start_server(
        rate_limit_per_minute=1, rate_limit_burst=1, rate_limit_redis_url=f"redis://127.0.0.1:{closed_port}/0"
    )
    tenant = tenant_on(live, sessions)
    with captured_logs() as logs:
        statuses = [tenant.get("/student_groups").status_code for _ in range(4)]
    assert statuses == [200] * 4
    warnings = [r for r in logs.records() if r["logger"] == "studentgroups.ratelimit"]
    assert len(warnings) == 1
    assert warnings[0]["level"] == "warning"
