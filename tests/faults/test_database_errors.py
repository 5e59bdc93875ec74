"""A database that is down, unreachable or out of connections is a 503 with `Retry-After`, in the
caller's error format, never a 500; a database error that is a bug stays a 500.

Errors are injected where the service calls the database, so these run on SQLite and PostgreSQL
alike; test_postgres_restart.py makes the same happen for real.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine
from sqlalchemy import exc as sa
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.database_faults import database_unavailable
from studentgroups.groups import service as groups
from studentgroups.main import create_app
from studentgroups.settings import Settings
from tests.factories import Tenant
from tests.faults.processes import server_process
from tests.live_server import LiveServer
from tests.luminus.conftest import make_course
from tests.server_process import free_port

REFUSED = psycopg.OperationalError('connection failed: connection to server at "127.0.0.1" failed: refused')
TOO_MANY_PARAMETERS = psycopg.OperationalError("number of parameters must be between 0 and 65535")


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (sa.OperationalError(None, None, REFUSED), True),  # no statement: a connection attempt
        (sa.OperationalError(None, None, psycopg.errors.ConnectionTimeout("timeout expired")), True),
        (sa.OperationalError("SELECT 1", {}, REFUSED, connection_invalidated=True), True),
        (sa.OperationalError("SELECT 1", {}, psycopg.errors.AdminShutdown("terminating")), True),
        (sa.OperationalError("SELECT 1", {}, psycopg.errors.CannotConnectNow("starting up")), True),
        (sa.OperationalError("SELECT 1", {}, psycopg.errors.TooManyConnections("too many")), True),
        (sa.InterfaceError("SELECT 1", {}, psycopg.InterfaceError("connection closed")), True),
        (sa.TimeoutError("QueuePool limit of size 8 overflow 4 reached"), True),
        (psycopg.errors.AdminShutdown("terminating connection"), True),  # COPY's own, unwrapped
        (psycopg.OperationalError("consuming input failed: server closed the connection"), True),
        (sa.OperationalError(None, None, sqlite3.OperationalError("database is locked")), True),
        (sa.OperationalError("SELECT 1", {}, TOO_MANY_PARAMETERS), False),  # a bug of ours
        (sa.ProgrammingError("SELECT x", {}, psycopg.errors.UndefinedColumn("no column x")), False),
        (sa.OperationalError("SELECT x", {}, sqlite3.OperationalError("no such column: x")), False),
        (sa.OperationalError("SELECT 1", {}, psycopg.errors.DeadlockDetected("deadlock")), False),
        (sa.DataError("INSERT", {}, psycopg.errors.NumericValueOutOfRange("out of range")), False),
    ],
)
def test_database_unavailable_tells_an_outage_from_a_bug(error: BaseException, unavailable: bool) -> None:
    assert database_unavailable(error) is unavailable


def _raising(error: BaseException) -> Callable[..., Any]:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise error

    return fail


def assert_unavailable_problem(response: httpx.Response) -> None:
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 503
    assert body["type"] == "urn:studentgroups:problem:unavailable"


def test_a_database_that_cannot_be_reached_is_a_503_problem_with_retry_after(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "list_groups", _raising(sa.OperationalError(None, None, REFUSED)))
    response = tenant.get("/student_groups")
    assert_unavailable_problem(response)
    assert "unavailable" in response.json()["detail"]


def test_pool_exhausted_is_a_503_that_says_the_service_is_busy(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(groups, "list_groups", _raising(sa.TimeoutError("QueuePool limit reached")))
    response = tenant.get("/student_groups")
    assert_unavailable_problem(response)
    assert "busy" in response.json()["detail"]


def test_a_connection_lost_during_a_randomise_save_is_a_503_string_and_saves_nothing(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    course = make_course(tenant, students=9)
    course.add_class_groups("A", "B", "C")
    first = course.randomise(toUpdate=True, seed=1)
    assert first.status_code == 200
    monkeypatch.setattr(
        "studentgroups.formations.service.write_memberships",
        _raising(psycopg.errors.AdminShutdown("terminating connection due to administrator command")),
    )
    failed = course.randomise(toUpdate=True, seed=2)
    assert failed.status_code == 503
    assert int(failed.headers["Retry-After"]) > 0
    assert failed.headers["content-type"].startswith("application/json")
    assert isinstance(failed.json(), str)
    assert "unavailable" in failed.json()
    monkeypatch.undo()
    again = course.randomise(toUpdate=False, seed=1)
    search = tenant.get(f"/user/Resource/{course.resource_id}/Group/Search").json()["data"]
    stored = {(g["id"], row["userID"]) for row in search for g in row["groups"]}
    assert stored == {(g["id"], m) for g in again.json() for m in g["members"]}


@pytest.mark.parametrize(
    "error",
    [
        sa.OperationalError("UPDATE groups", {}, psycopg.errors.DeadlockDetected("deadlock detected")),
        sa.OperationalError("UPDATE groups", {}, psycopg.errors.SerializationFailure("could not serialize")),
        psycopg.errors.DeadlockDetected("deadlock detected"),  # COPY's own, unwrapped
    ],
    ids=["deadlock", "serialization-failure", "deadlock-in-copy"],
)
def test_a_transaction_rolled_back_for_a_concurrent_one_is_a_409_to_send_again(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    monkeypatch.setattr(groups, "list_groups", _raising(error))
    response = tenant.get("/student_groups")
    assert response.status_code == 409
    assert response.json()["type"] == "urn:studentgroups:problem:conflict"
    assert "Send it again" in response.json()["detail"]
    assert int(response.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    "error",
    [
        sa.OperationalError("SELECT 1", {}, TOO_MANY_PARAMETERS),
        sa.ProgrammingError("SELECT x", {}, psycopg.errors.UndefinedColumn("column x does not exist")),
    ],
    ids=["too-many-parameters", "undefined-column"],
)
def test_a_database_error_that_is_a_bug_stays_a_500(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    monkeypatch.setattr(groups, "list_groups", _raising(error))
    response = tenant.get("/student_groups")
    assert response.status_code == 500
    assert response.json()["type"] == "urn:studentgroups:problem:internal"
    assert "Retry-After" not in response.headers


def test_a_streamed_list_whose_database_is_gone_before_it_starts_is_a_503_not_a_cut_body(
    tenant: Tenant, server: LiveServer
) -> None:
    # The list is counted on the request's session, then read on a session of its own: that one
    # goes to a database that refuses connections (a port nothing listens on).
    gone = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gone")
    state = server.app.state
    own_sessions = state.read_sessions
    opened: list[Session] = []

    def request_session_then_gone() -> Session:
        opened.append(own_sessions() if not opened else sessionmaker(gone)())
        return opened[-1]

    tenant.post("/students", json={"uid": "streamed-1"})
    state.read_sessions = request_session_then_gone
    try:
        response = tenant.get("/students", params={"limit": 20})
    finally:
        state.read_sessions = own_sessions
        gone.dispose()
    assert len(opened) == 2  # counted on the request's session, then streamed on the gone one
    assert_unavailable_problem(response)
    assert tenant.get("/students", params={"limit": 20}).status_code == 200


def test_a_streamed_page_whose_database_goes_away_once_it_is_read_is_answered_whole(
    tenant: Tenant, server: LiveServer
) -> None:
    # The database goes after the page's rows are read (seen in CI's PostgreSQL restart test: a
    # page of 20 cut short): a page is sent whole, nothing more asked, and the read session's
    # failed rollback does not cut it.
    state = server.app.state
    own_sessions = state.read_sessions
    asked: list[str] = []

    class GoneAfterTheRows(Session):
        def rollback(self) -> None:
            asked.append("rollback")
            raise sa.OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    for i in range(3):
        tenant.post("/students", json={"uid": f"whole-{i}"})
    opened: list[Session] = []

    def request_session_then_failing() -> Session:
        opened.append(own_sessions() if not opened else GoneAfterTheRows(bind=own_sessions.kw["bind"]))
        return opened[-1]

    state.read_sessions = request_session_then_failing
    try:
        response = tenant.get("/students", params={"limit": 20})
    finally:
        state.read_sessions = own_sessions
    assert len(opened) == 2
    assert asked == ["rollback"]
    assert response.status_code == 200
    assert sorted(s["uid"] for s in response.json()) == ["whole-0", "whole-1", "whole-2"]


@pytest.fixture
def one_connection_server(database_url: str) -> Iterator[LiveServer]:
    """The service with a pool of one connection, waited for at most half a second."""
    settings = Settings(
        database_url=database_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.5
    )
    live = LiveServer(create_app(settings)).start()
    yield live
    live.stop()


def test_no_free_connection_within_the_pool_timeout_is_a_503_and_healthz_still_answers(
    tenant: Tenant, one_connection_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = groups.list_groups
    holding, release = threading.Event(), threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        holding.set()  # the only connection (and the only worker thread) is taken from here on
        release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(groups, "list_groups", held)
    with httpx.Client(base_url=one_connection_server.url, headers=tenant.headers(), timeout=30) as api:
        holder = threading.Thread(target=api.get, args=("/student_groups",))
        holder.start()
        try:
            assert holding.wait(30)
            # A call whose first dependency is the session: it waits for a slot on the event loop.
            # (`/students` would first wait for a worker thread, for its sync `limit`/`offset` parser.)
            waited = api.get("/student_groups/1")
            health = api.get("/healthz")
            still_held = holder.is_alive()
        finally:
            release.set()
            holder.join()
    # The answer came while the connection was still taken: the pool's timeout ended the wait.
    assert still_held
    assert_unavailable_problem(waited)
    assert "busy" in waited.json()["detail"]
    assert health.status_code == 200


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts connections and never says a word (a hung host)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)  # the kernel completes the handshakes; nothing ever answers
        yield f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/studentgroups"


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout_never_a_hang(
    silent_database: str,
) -> None:
    requests = 14  # more than the pool's 12 connections: some wait for a slot first
    with server_process(silent_database, db_connect_timeout_seconds="2") as server:
        answers: list[tuple[float, httpx.Response]] = []

        def call() -> None:
            started = time.monotonic()
            with httpx.Client(base_url=server.url, timeout=15) as api:
                answer = api.get("/student_groups", headers={"X-API-Key": "sg_any"})
            answers.append((time.monotonic() - started, answer))

        threads = [threading.Thread(target=call) for _ in range(requests)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        health = httpx.get(f"{server.url}/healthz", timeout=15)
        answered_before_health = len(answers)
        for thread in threads:
            thread.join()
    # /healthz answered beside requests stuck connecting: it waits for no slot and no thread.
    assert health.status_code == 200
    assert answered_before_health < requests
    # Every request answered 503 within the client's timeout (15 s): none hung on the silent server.
    assert len(answers) == requests
    for _seconds, answer in answers:
        assert_unavailable_problem(answer)
    times = sorted(seconds for seconds, _ in answers)
    print(
        json.dumps({"answers": len(times), "fastest_s": round(times[0], 2), "slowest_s": round(times[-1], 2)})
    )
