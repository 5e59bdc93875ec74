"""PostgreSQL stopped and started again under load: while it is down every request answers 503
quickly, with `Retry-After`, in the caller's error format; once it is back every request succeeds
again (no stale pooled connection is ever handed out); no write is half applied.

The cluster is the test's own (initdb in a temporary directory), never the shared server.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine

from studentgroups.migrations import upgrade_database
from tests.faults.big_course import (
    BigCourse,
    assert_one_group_each,
    history_matches_memberships,
    seed_big_course,
    stored_grouping,
)
from tests.faults.private_postgres import PrivatePostgres
from tests.faults.processes import ServerProcess, backends, server_process, wait_for

pytestmark = pytest.mark.postgres_only

CLIENT_TIMEOUT = 5.0
"""Every answer must come within this (seconds): a request that hangs fails the test."""
PAUSE = 0.01
"""Between two requests of one client: steady load that leaves the two cores some room."""
BATCH = 50
RUNNING_BEFORE, DOWN_FOR, RUNNING_AFTER = 2.0, 3.0, 5.0


@dataclass
class Call:
    """One request of the load and how it ended."""

    kind: str
    path: str
    tag: str | None
    started: float
    seconds: float
    status: int | None = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Request = Callable[[httpx.Client, int], tuple[str, str, Any, str | None]]
"""Given the client's n-th request: (method, path, JSON body or None, tag of what it writes)."""


def _load(course: BigCourse) -> dict[str, Request]:
    """What the clients do, each in a loop: reads and writes on both surfaces."""
    lum = f"/user/Resource/{course.resource}/Group"

    def results(_api: httpx.Client, n: int) -> tuple[str, str, Any, str | None]:
        tag = f"load-{n}"
        rows = [{"student_id": s, "item": tag, "score": 1} for s in course.student_ids[:BATCH]]
        return "POST", "/results", rows, tag

    return {
        "domoscio read": lambda _api, _n: ("GET", "/student_groups", None, None),
        "domoscio read 2": lambda _api, _n: ("GET", "/students?limit=20", None, None),
        "luminus read": lambda _api, _n: ("GET", lum, None, None),
        "results write": results,
        "group write": lambda _api, n: ("POST", "/student_groups", {"name": f"load-{n}"}, f"load-{n}"),
        "randomise save": lambda _api, n: (
            "POST",
            "/user/Groups/Randomise",
            course.randomise(n, save=True),
            None,
        ),
    }


@dataclass
class Load:
    """Clients in threads, each sending its kind of request until stopped; every call recorded."""

    server: ServerProcess
    course: BigCourse
    calls: list[Call] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for kind, request in _load(self.course).items():
            thread = threading.Thread(target=self._client, args=(kind, request), daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=CLIENT_TIMEOUT + 5)

    def _client(self, kind: str, request: Request) -> None:
        headers = self.course.headers()
        with httpx.Client(base_url=self.server.url, headers=headers, timeout=CLIENT_TIMEOUT) as api:
            n = 0
            while not self.stopping.is_set():
                n += 1
                method, path, body, tag = request(api, n)
                self.calls.append(send(api, kind, method, path, body, tag))
                time.sleep(PAUSE)


def send(
    api: httpx.Client,
    kind: str,
    method: str,
    path: str,
    body: Any,
    tag: str | None,
    headers: dict[str, str] | None = None,
) -> Call:
    """One request, timed; a transport error (a timeout among them) is recorded, not raised."""
    started = time.monotonic()
    try:
        answer = api.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as error:
        return Call(kind, path, tag, started, time.monotonic() - started, error=repr(error))
    call = Call(kind, path, tag, started, time.monotonic() - started, answer.status_code)
    call.headers = dict(answer.headers)
    if not call.ok:
        call.body = answer.content
    return call


@contextmanager
def pinned_student(cluster: PrivatePostgres, database: str, student_id: int) -> Iterator[None]:
    """Hold a row lock on the student, so that a write naming them waits inside its COPY."""
    conn = cluster.connect(database, autocommit=False)
    try:
        conn.execute("SELECT 1 FROM students WHERE id = %s FOR UPDATE", (student_id,))
        yield
    finally:
        conn.close()  # the cluster's stop may have ended it already


def assert_unavailable(call: Call) -> None:
    """A 503 with Retry-After, in the error format of the caller's surface."""
    assert call.status == 503, call
    assert int(call.headers["retry-after"]) > 0
    body = json.loads(call.body)
    if call.path.startswith("/user/"):
        assert call.headers["content-type"].startswith("application/json")
        assert isinstance(body, str)
        assert "unavailable" in body
    else:
        assert call.headers["content-type"].startswith("application/problem+json")
        assert body["status"] == 503
        assert body["type"] == "urn:studentgroups:problem:unavailable"


@pytest.fixture(scope="module")
def course(private_pg: PrivatePostgres) -> BigCourse:
    """A module of 200 students and 4 class groups, in a migrated database of the private cluster."""
    with private_pg.connect() as admin:
        admin.execute("CREATE DATABASE studentgroups")
    url = private_pg.url("studentgroups")
    upgrade_database(url)
    return seed_big_course(url, students=200, groups=4)


@pytest.fixture
def url(private_pg: PrivatePostgres, course: BigCourse) -> str:
    """The database's URL, the cluster running (whatever an earlier test left it in)."""
    if not private_pg.running:
        private_pg.start()
    return private_pg.url("studentgroups")


def test_postgres_stopped_and_started_under_load_answers_503_then_recovers_with_no_failure(
    private_pg: PrivatePostgres, course: BigCourse, url: str
) -> None:
    with server_process(url) as server, httpx.Client(base_url=server.url, timeout=CLIENT_TIMEOUT) as probe:
        load = Load(server, course)
        load.start()
        try:
            time.sleep(RUNNING_BEFORE)

            # A write in flight when PostgreSQL stops: held inside its COPY by a lock, then cut off.
            in_flight: list[Call] = []
            with pinned_student(private_pg, "studentgroups", course.student_ids[0]):
                rows = [
                    {"student_id": s, "item": "in-flight", "score": 1} for s in course.student_ids[:BATCH]
                ]
                writer = threading.Thread(
                    target=lambda: in_flight.append(
                        send(probe, "in flight", "POST", "/results", rows, "in-flight", course.headers())
                    )
                )
                writer.start()
                with private_pg.connect("studentgroups") as watch:
                    wait_for(
                        lambda: any(
                            b.query.startswith("COPY results") and b.wait_event_type == "Lock"
                            for b in backends(watch, server.application_name)
                        ),
                        timeout=CLIENT_TIMEOUT,
                        what="a write waiting inside its COPY",
                    )
                stop_began = time.monotonic()
                private_pg.stop("fast")
                stop_done = time.monotonic()
                writer.join(timeout=CLIENT_TIMEOUT + 1)

            health: list[Call] = []
            ready: list[Call] = []
            while time.monotonic() < stop_done + DOWN_FOR:
                health.append(send(probe, "health", "GET", "/healthz", None, None))
                ready.append(send(probe, "ready", "GET", "/readyz", None, None))
                time.sleep(0.2)
            start_began = time.monotonic()
            private_pg.start()
            start_done = time.monotonic()
            time.sleep(RUNNING_AFTER)
            ready_again = send(probe, "ready", "GET", "/readyz", None, None)
        finally:
            load.stop()
        server_log = server.log()

    calls = sorted(load.calls, key=lambda c: c.started)
    before = [c for c in calls if c.ended < stop_began]
    down = [c for c in calls if c.started > stop_done and c.ended < start_began]
    back = [c for c in calls if c.started > start_done]

    # No answer ever took longer than the client's timeout, none was a 500.
    assert [c for c in calls if c.error is not None] == []
    assert {c.status for c in calls} <= {200, 503}
    assert "unhandled error" not in server_log
    assert all(c.ok for c in before)
    # While PostgreSQL is down: every request a 503 with Retry-After, in the caller's format.
    assert len(down) >= 20, "too little load while PostgreSQL was down to prove anything"
    for call in down:
        assert_unavailable(call)
    assert {c.kind for c in down} == set(_load(course))
    assert all(h.status == 200 for h in health)  # liveness needs no database
    for call in ready:  # readiness says the database is gone, and quickly
        assert_unavailable(call)
    assert ready_again.status == 200
    # Back: every request started after PostgreSQL accepted connections again succeeded.
    assert len(back) >= 20
    assert [c for c in back if not c.ok] == []
    # The write in flight was cut off whole: answered 503, none of its rows stored.
    assert len(in_flight) == 1
    assert_unavailable(in_flight[0])

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored: dict[str, int] = dict(
                conn.exec_driver_sql("SELECT item, count(*) FROM results GROUP BY item").all()
            )
            names: dict[str, int] = dict(
                conn.exec_driver_sql(
                    "SELECT name, count(*) FROM groups WHERE module_id IS NULL GROUP BY name"
                ).all()
            )
            grouping = stored_grouping(conn, course)
            assert_one_group_each(grouping, course)
            assert history_matches_memberships(conn, course)
    finally:
        engine.dispose()
    assert "in-flight" not in stored
    for call in calls:  # each write whole or not at all; each answered 200 whole
        if call.kind == "results write":
            assert stored.get(call.tag or "", 0) in ((BATCH,) if call.ok else (0, BATCH)), call
        if call.kind == "group write":
            assert names.get(call.tag or "", 0) in ((1,) if call.ok else (0, 1)), call

    _report(calls, down, back, before, in_flight[0], stop_began, stop_done, start_began, start_done)


def test_connections_pooled_before_a_quiet_restart_are_never_handed_out_broken(
    private_pg: PrivatePostgres, course: BigCourse, url: str
) -> None:
    with server_process(url) as server:
        # Fill the pool: as many requests at once as it has connections, a few times over.
        for _ in range(3):
            answers = at_once(server, course, [("GET", "/student_groups", None)] * POOL)
            assert [a.status_code for a in answers] == [200] * POOL
        with private_pg.connect("studentgroups") as watch:
            pooled = {b.pid for b in backends(watch, server.application_name)}
        assert len(pooled) >= POOL_SIZE

        # PostgreSQL restarts while the service is idle: every pooled connection is now dead.
        private_pg.stop("fast")
        private_pg.start()

        writes = [("POST", "/student_groups", {"name": f"quiet-{i}"}) for i in range(POOL // 2)]
        reads = [("GET", "/student_groups", None)] * (POOL - len(writes))
        answers = at_once(server, course, writes + reads)
        assert [a.status_code for a in answers] == [200] * POOL, [
            a.text for a in answers if a.status_code != 200
        ]
        with private_pg.connect("studentgroups") as watch:
            now = {b.pid for b in backends(watch, server.application_name)}
        assert now
        assert not now & pooled


POOL_SIZE, POOL = 8, 12
"""The server's pool by default: 8 connections kept, 4 more under load."""


def at_once(
    server: ServerProcess, course: BigCourse, requests: list[tuple[str, str, Any]]
) -> list[httpx.Response]:
    """The requests sent together, each from its own connection; their answers, in order."""
    barrier = threading.Barrier(len(requests))
    answers: list[httpx.Response | None] = [None] * len(requests)

    def run(i: int) -> None:
        method, path, body = requests[i]
        with httpx.Client(base_url=server.url, headers=course.headers(), timeout=CLIENT_TIMEOUT) as api:
            barrier.wait()
            answers[i] = api.request(method, path, json=body)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [a for a in answers if a is not None]


def _report(
    calls: list[Call],
    down: list[Call],
    back: list[Call],
    before: list[Call],
    in_flight: Call,
    stop_began: float,
    stop_done: float,
    start_began: float,
    start_done: float,
) -> None:
    """The figures for docs/reliability.md, printed (pytest -s shows them)."""
    unavailable = [c for c in calls if c.status == 503]
    first_ok = min((c.ended for c in calls if c.ok and c.started > start_began), default=float("nan"))
    figures = {
        "requests": len(calls),
        "before_stop": len(before),
        "pg_ctl_stop_s": round(stop_done - stop_began, 2),
        "down_s": round(start_began - stop_done, 2),
        "pg_ctl_start_s": round(start_done - start_began, 2),
        "answered_503": len(unavailable),
        "503_from_s_after_stop_began": round(min(c.ended for c in unavailable) - stop_began, 3),
        "503_until_s_after_start_done": round(max(c.ended for c in unavailable) - start_done, 3),
        "while_down": len(down),
        "while_down_longest_ms": round(max(c.seconds for c in down) * 1000, 1),
        "in_flight_write_answer_ms": round(in_flight.seconds * 1000, 1),
        "first_success_s_after_start_began": round(first_ok - start_began, 3),
        "after_restart": len(back),
        "after_restart_failed": sum(not c.ok for c in back),
        "after_restart_longest_ms": round(max(c.seconds for c in back) * 1000, 1),
        "answered_500": sum(c.status == 500 for c in calls),
        "timeouts": sum(c.error is not None for c in calls),
    }
    print(json.dumps(figures))
