"""/healthz, /readyz and /metrics: what an operator's probes and Prometheus read."""

from __future__ import annotations

import ctypes.util
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from studentgroups.main import create_app
from studentgroups.migrations import upgrade_database
from studentgroups.operations.process import limit_malloc_arenas
from studentgroups.settings import Settings
from tests.factories import Tenant
from tests.live_server import LiveServer
from tests.operations.conftest import StartServer
from tests.server_process import stop, wait_until_serving


def samples(text: str, name: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def requests_counted(text: str, route: str, method: str = "GET", status: str = "200") -> float:
    return sum(
        s.value
        for s in samples(text, "studentgroups_http_requests_total")
        if s.labels == {"method": method, "route": route, "status": status}
    )


def test_healthz_needs_neither_key_nor_database(start_server: StartServer) -> None:
    live = start_server(database_url="postgresql+psycopg://nobody@127.0.0.1:1/nothing")
    response = httpx.get(f"{live.url}/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_when_the_database_answers(http: httpx.Client) -> None:
    response = http.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    "unreachable",
    [
        lambda tmp: f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/postgres",
        lambda tmp: f"sqlite:///{tmp}/no-such-directory/studentgroups.db",
    ],
    ids=["postgresql-where-nothing-listens", "sqlite-that-cannot-be-opened"],
)
def test_not_ready_when_the_database_does_not_answer(
    start_server: StartServer, tmp_path: Path, unreachable: object
) -> None:
    assert callable(unreachable)
    live = start_server(database_url=unreachable(tmp_path))
    response = httpx.get(f"{live.url}/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["Retry-After"]) >= 1
    problem = response.json()
    assert (problem["status"], problem["type"]) == (503, "urn:studentgroups:problem:unavailable")
    assert "127.0.0.1" not in problem["detail"]  # nothing of the connection's details leaks
    assert httpx.get(f"{live.url}/healthz").status_code == 200  # alive all the same


def test_metrics_count_a_request_by_its_route_template_never_its_path(
    tenant: Tenant, http: httpx.Client
) -> None:
    group = tenant.group()
    route = "/student_groups/{student_group_id}"
    before = requests_counted(http.get("/metrics").text, route)
    tenant.get(f"/student_groups/{group['id']}")
    tenant.get(f"/v1/instances/{tenant.instance_id}/student_groups/{group['id']}")
    tenant.get("/student_groups/999999999")
    scraped = http.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    text = scraped.text
    assert requests_counted(text, route) == before + 1
    assert requests_counted(text, "/v1/instances/{instance_id}" + route) >= 1
    assert requests_counted(text, route, status="404") >= 1
    assert f"/student_groups/{group['id']}" not in text  # no raw path, no id: bounded cardinality
    durations = samples(text, "studentgroups_http_request_duration_seconds_count")
    assert any(s.labels == {"method": "GET", "route": route} and s.value >= 1 for s in durations)
    assert samples(text, "studentgroups_http_requests_in_flight")[0].value >= 1  # this scrape


def test_requests_answered_before_routing_are_counted_under_their_route(
    tenant: Tenant, http: httpx.Client
) -> None:
    before = requests_counted(http.get("/metrics").text, "/student_groups", method="POST", status="400")
    tenant.post("/student_groups", content=b"[" * 1000)
    http.get("/no/such/path/42")
    text = http.get("/metrics").text
    assert requests_counted(text, "/student_groups", method="POST", status="400") == before + 1
    assert requests_counted(text, "unmatched", status="404") >= 1


def test_metrics_show_the_database_pool(http: httpx.Client) -> None:
    text = http.get("/metrics").text
    for name in ("size", "checked_out", "checked_in", "overflow"):
        (sample,) = samples(text, f"studentgroups_db_pool_{name}")
        assert sample.value >= 0
    assert samples(text, "studentgroups_db_pool_size")[0].value == Settings().db_pool_size


def test_each_app_has_its_own_registry(database_url: str) -> None:
    first = create_app(Settings(database_url=database_url)).state.operations.metrics
    second = create_app(Settings(database_url=database_url)).state.operations.metrics
    first.observe("GET", "/healthz", 200, 0.001)
    assert requests_counted(first.exposition().decode(), "/healthz") == 1
    assert requests_counted(second.exposition().decode(), "/healthz") == 0


def test_a_metrics_token_guards_the_metrics(start_server: StartServer) -> None:
    live = start_server(metrics_token="scrape-secret")
    assert httpx.get(f"{live.url}/metrics").status_code == 401
    assert httpx.get(f"{live.url}/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = httpx.get(f"{live.url}/metrics", headers={"Authorization": "Bearer scrape-secret"})
    assert allowed.status_code == 200
    assert "studentgroups_http_requests_total" in allowed.text


def test_metrics_can_be_turned_off(start_server: StartServer) -> None:
    live = start_server(metrics_enabled=False)
    assert httpx.get(f"{live.url}/metrics").status_code == 404
    assert httpx.get(f"{live.url}/healthz").status_code == 200


def test_the_operations_endpoints_are_out_of_the_api_document(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert "/healthz" in paths
    assert "/readyz" not in paths
    assert "/metrics" not in paths


@contextmanager
def two_workers(database_url: str, metrics_dir: Path) -> Iterator[str]:
    """The app in two uvicorn workers sharing Prometheus' multiprocess directory; its base URL.

    uvicorn itself rather than `studentgroups serve`, for its worker health-check timeout: on a
    loaded machine a worker may take longer than the default 5 s to import the app.
    """
    port = _closed_port()
    env = {
        **os.environ,
        "STUDENTGROUPS_DATABASE_URL": database_url,
        "STUDENTGROUPS_LOG_LEVEL": "warning",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("uvicorn")),
            "studentgroups.main:app_factory",
            "--factory",
            "--port",
            str(port),
            "--workers",
            "2",
            "--timeout-worker-healthcheck",
            "120",
            "--no-access-log",
        ],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process, seconds=180)
        yield url
    finally:
        stop(process)


def test_several_workers_report_their_sum_in_multiprocess_mode(database_url: str, tmp_path: Path) -> None:
    with two_workers(database_url, tmp_path) as url:
        for _ in range(40):
            with httpx.Client(base_url=url) as fresh:  # a new connection: either worker may take it
                fresh.get("/healthz")
        pids = {p.name.split("_")[-1] for p in tmp_path.glob("*.db")}
        assert len(pids) >= 2, "both workers should have written their numbers"
        for _ in range(5):  # whichever worker answers the scrape, the total is everyone's
            text = httpx.get(f"{url}/metrics").text
            assert requests_counted(text, "/healthz") >= 40


def test_a_live_server_is_unaffected_by_an_app_made_later(database_url: str, server: LiveServer) -> None:
    create_app(Settings(database_url=database_url))
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_the_worker_limits_malloc_arenas_unless_the_operator_chose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas() is (ctypes.util.find_library("c") is not None and sys.platform == "linux")
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_malloc_arenas() is False


def test_readyz_is_503_while_the_schema_is_behind_and_200_once_migrated(
    start_server: StartServer, tmp_database: str
) -> None:
    upgrade_database(tmp_database, "0008")
    live = start_server(database_url=tmp_database, enrolment_sweep_seconds=0)
    behind = httpx.get(f"{live.url}/readyz")
    assert behind.status_code == 503
    assert "studentgroups migrate" in behind.json()["detail"]
    assert behind.headers["Retry-After"]
    upgrade_database(tmp_database)
    assert httpx.get(f"{live.url}/readyz").status_code == 200
