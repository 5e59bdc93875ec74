"""One transaction per request: a failure after a write leaves nothing; races never break a rule."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from functools import partial

import httpx
import pytest

from studentgroups.dependencies import SessionDep, Writer
from studentgroups.groups.service import create_group
from studentgroups.main import create_app
from studentgroups.settings import Settings
from tests.factories import Tenant
from tests.live_server import LiveServer


@pytest.fixture
def failing_server(database_url: str) -> Iterator[LiveServer]:
    """The service plus one route (in this test only) that writes a group, flushes, then fails."""
    app = create_app(Settings(database_url=database_url))

    @app.post("/test-only/write-then-fail")
    def write_then_fail(session: SessionDep, principal: Writer) -> None:
        create_group(
            session,
            instance_id=principal.instance_id,
            name="half-written",
            student_cluster_id=None,
            creator_id=None,
        )
        raise RuntimeError("the failure in the middle of the write")

    live = LiveServer(app).start()
    yield live
    live.stop()


def test_a_failure_after_a_flushed_write_leaves_the_data_as_it_was(
    tenant: Tenant, failing_server: LiveServer
) -> None:
    before = tenant.get("/student_groups").json()
    response = httpx.post(f"{failing_server.url}/test-only/write-then-fail", headers=tenant.headers())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "nothing was saved" in response.json()["detail"]
    assert response.headers["Connection"] == "close"  # the server drops the connection after a 500
    assert tenant.get("/student_groups").json() == before


def _race(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [r for r in results if r is not None]


def test_racing_to_put_one_student_in_two_root_groups_ends_in_exactly_one(tenant: Tenant) -> None:
    for _ in range(8):
        first, second = tenant.group(), tenant.group()
        student = tenant.student()
        with (
            httpx.Client(base_url=str(tenant.http.base_url), headers=tenant.headers()) as a,
            httpx.Client(base_url=str(tenant.http.base_url), headers=tenant.headers()) as b,
        ):
            responses = _race(
                [
                    partial(a.put, f"/student_groups/{first['id']}/students/{student['id']}"),
                    partial(b.put, f"/student_groups/{second['id']}/students/{student['id']}"),
                ]
            )
        codes = sorted(r.status_code for r in responses)
        assert codes == [200, 409], [r.text for r in responses]
        members = [len(tenant.get(f"/student_groups/{g['id']}/students").json()) for g in (first, second)]
        assert sorted(members) == [0, 1]
        assert tenant.get(f"/students/{student['id']}").json()["student_group_id"] in {
            first["id"],
            second["id"],
        }
