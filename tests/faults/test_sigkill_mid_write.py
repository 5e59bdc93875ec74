"""The server SIGKILLed in the middle of a big write: the database keeps the old state or the new
one, whole; the killed server's PostgreSQL backend goes away; the next write succeeds.

The server runs as its own process (`studentgroups serve`) on a fresh database. The test watches
the server's backend in `pg_stat_activity` and kills the server while that backend is running the
write. "Pinned" runs hold a lock on one student row, so the write stops inside its COPY (its rows
written, its foreign keys being checked) until the test lets it go, after the kill: the kill is
then provably in the middle of the write.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from sqlalchemy import create_engine

from tests.faults.big_course import (
    BigCourse,
    assert_one_group_each,
    assert_the_api_agrees,
    grouping_of,
    history_matches_memberships,
    memberships_outside_the_grouping,
    roster_size,
    saved_formations,
    seed_big_course,
    stored_grouping,
)
from tests.faults.processes import Backend, ServerProcess, backends, server_process, wait_for

pytestmark = pytest.mark.postgres_only

STUDENTS = 100_000
GROUPS = 1_000
BATCH = 10_000
CLIENT_TIMEOUT = 120


def _client(server: ServerProcess, course: BigCourse) -> httpx.Client:
    # A connection per request: one kept idle longer than uvicorn's keep-alive (5 s, while the
    # test reads the database) could be closed by the server just as it is reused.
    limits = httpx.Limits(max_keepalive_connections=0)
    return httpx.Client(base_url=server.url, headers=course.headers(), timeout=CLIENT_TIMEOUT, limits=limits)


def _driver_url(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture(scope="module")
def course(fresh_database: str) -> BigCourse:
    """The 100,000-student module, already grouped once (a save to be replaced), with a batch of
    results already stored."""
    course = seed_big_course(fresh_database, students=STUDENTS, groups=GROUPS)
    with server_process(fresh_database) as server, _client(server, course) as api:
        first = api.post("/user/Groups/Randomise", json=course.randomise(1, save=True))
        assert first.status_code == 200, first.text[:300]
        stored = api.post("/results", content=_results(course, "first"))
        assert stored.status_code == 200, stored.text[:300]
    return course


@pytest.fixture
def watch(fresh_database: str) -> Iterator[psycopg.Connection]:
    """A connection of the test's own, to read `pg_stat_activity`."""
    with psycopg.connect(_driver_url(fresh_database), autocommit=True) as conn:
        yield conn


@contextmanager
def pinned_student(database_url: str, student_id: int) -> Iterator[None]:
    """Hold a row lock on the student: a write whose foreign keys name them waits inside its
    statement until the block ends."""
    with psycopg.connect(_driver_url(database_url)) as conn:
        conn.execute("SELECT 1 FROM students WHERE id = %s FOR UPDATE", (student_id,))
        try:
            yield
        finally:
            conn.rollback()


def _in_background(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[Any]]:
    """Run the call in a thread; the list gets its answer or the exception it raised."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(call())
        except httpx.HTTPError as error:
            outcome.append(error)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _writing(
    server: ServerProcess, watch: psycopg.Connection, table: str, *, waiting: bool
) -> Backend | None:
    """The server's backend while it runs a DELETE from or a COPY into `table` (waiting on a lock)."""
    for backend in backends(watch, server.application_name):
        words = [w.lower() for w in backend.query.split(maxsplit=3)]
        writes = words[:2] == ["copy", table] or words[:3] == ["delete", "from", table]
        if backend.state == "active" and writes and (backend.wait_event_type == "Lock" or not waiting):
            return backend
    return None


def _kill_mid_write(
    server: ServerProcess,
    watch: psycopg.Connection,
    call: Callable[[], httpx.Response],
    table: str,
    *,
    waiting: bool,
) -> Backend:
    """Send the write, SIGKILL the server as soon as its backend is seen writing `table`; that backend."""
    thread, outcome = _in_background(call)
    seen = wait_for(
        lambda: _writing(server, watch, table, waiting=waiting) or bool(outcome),
        timeout=60,
        every=0.01,
        what=f"the server's backend writing {table}",
    )
    assert isinstance(seen, Backend), f"the write finished before it was seen: {outcome}"
    server.kill()
    thread.join(timeout=30)
    assert outcome, "the killed server's client is still waiting"
    assert isinstance(outcome[0], httpx.TransportError), f"the killed server answered: {outcome[0]}"
    return seen


def _gone(server: ServerProcess, watch: psycopg.Connection) -> bool:
    return not backends(watch, server.application_name)


def _results(course: BigCourse, item: str) -> bytes:
    """A batch of 10,000 results on `item`, the first of them the first student's."""
    return orjson.dumps(
        [
            {"student_id": s, "item": item, "score": i % 11, "max_score": 10}
            for i, s in enumerate(course.student_ids[:BATCH])
        ]
    )


def _result_count(api: httpx.Client, item: str | None = None) -> int:
    answer = api.get("/results", params={"limit": 1, **({"item": item} if item else {})})
    assert answer.status_code == 200, answer.text[:300]
    return int(answer.headers["X-Total-Count"])


@pytest.mark.parametrize("pinned", [False, True], ids=["as-it-runs", "pinned-in-its-copy"])
def test_sigkill_during_a_randomise_save_of_100000_students_keeps_the_old_grouping_or_the_new_whole(
    course: BigCourse, fresh_database: str, watch: psycopg.Connection, pinned: bool
) -> None:
    seed = 100 + pinned
    engine = create_engine(fresh_database)
    try:
        with server_process(fresh_database) as server, _client(server, course) as api:
            with engine.connect() as conn:
                old = stored_grouping(conn, course)
            history = saved_formations(api, course)
            pin = pinned_student(fresh_database, course.student_ids[0]) if pinned else nullcontext()
            sent = time.monotonic()
            with pin:
                seen = _kill_mid_write(
                    server,
                    watch,
                    lambda: api.post("/user/Groups/Randomise", json=course.randomise(seed, save=True)),
                    "memberships",
                    waiting=pinned,
                )
                killed = time.monotonic()
                if pinned:
                    # Blocked on the lock, the backend cannot notice its client died: still there.
                    assert not _gone(server, watch)
            wait_for(lambda: _gone(server, watch), timeout=30, what="the killed server's backends to end")
            gone = time.monotonic()

        with server_process(fresh_database) as restarted, _client(restarted, course) as api:
            with engine.connect() as conn:
                stored = stored_grouping(conn, course)
            saved = stored != old
            if saved:  # then it is the new grouping whole: what a preview with its seed shows
                preview = api.post("/user/Groups/Randomise", json=course.randomise(seed, save=False))
                assert preview.status_code == 200, preview.text[:300]
                assert stored == grouping_of(preview.json()), (
                    f"the grouping mixes two saves ({seen.query[:40]})"
                )
            assert not (pinned and saved)  # killed inside the COPY: nothing of the save may remain
            assert_one_group_each(stored, course)
            with engine.connect() as conn:
                assert history_matches_memberships(conn, course)
                outside = memberships_outside_the_grouping(conn, course)
                assert outside.pop(course.roster_group_id) == STUDENTS
                assert set(outside.values()) == {0}  # the guest group and the parent: no members
            assert_the_api_agrees(api, course, stored)
            assert roster_size(api, course) == STUDENTS
            saves = saved_formations(api, course)
            assert len(saves) == len(history) + saved
            assert saves[0]["seed"] == (seed if saved else history[0]["seed"])
            assert saves[0]["member_count"] == STUDENTS

            # No lock of the killed save lingers: the next save goes through, whole.
            started = time.monotonic()
            after = api.post("/user/Groups/Randomise", json=course.randomise(seed + 10, save=True))
            next_save = time.monotonic() - started
            assert after.status_code == 200, after.text[:300]
            assert saved_formations(api, course)[0]["seed"] == seed + 10
            with engine.connect() as conn:
                assert stored_grouping(conn, course) == grouping_of(after.json())
                assert history_matches_memberships(conn, course)
    finally:
        engine.dispose()
    figures = {
        "killed_during": seen.query.split("(")[0].strip(),
        "waiting_on": seen.wait_event_type,
        "killed_s_after_request": round(killed - sent, 3),
        "backends_gone_s_after_kill": round(gone - killed, 3),
        "stored": "new" if saved else "old",
        "next_save_s": round(next_save, 2),
    }
    print(json.dumps(figures))


def test_sigkill_during_a_batch_of_10000_results_stores_all_of_it_or_none(
    course: BigCourse, fresh_database: str, watch: psycopg.Connection
) -> None:
    with server_process(fresh_database) as server, _client(server, course) as api:
        before = _result_count(api)
        assert before >= BATCH
        with pinned_student(fresh_database, course.student_ids[0]):
            _kill_mid_write(
                server,
                watch,
                lambda: api.post("/results", content=_results(course, "killed")),
                "results",
                waiting=True,
            )
        wait_for(lambda: _gone(server, watch), timeout=30, what="the killed server's backends to end")

    with server_process(fresh_database) as restarted, _client(restarted, course) as api:
        assert _result_count(api) == before  # killed inside its COPY: none of the batch
        assert _result_count(api, "killed") == 0
        after = api.post("/results", content=_results(course, "after"))
        assert after.status_code == 200, after.text[:300]
        assert after.json() == {"created": BATCH}
        assert _result_count(api) == before + BATCH
