"""Randomise saves are whole: concurrent saves from several server processes end in one grouping,
and a save that fails half-way leaves the grouping as it was."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from studentgroups.groups.service import write_memberships
from tests.factories import Tenant
from tests.luminus.conftest import Course, make_course
from tests.server_process import several_servers

Grouping = dict[str, frozenset[str]]


@pytest.fixture(scope="module")
def server_processes(database_url: str) -> Iterator[list[str]]:
    """Two `studentgroups serve` processes on the run's database (SQLite: one file, two processes)."""
    with several_servers(database_url, 2) as urls:
        yield urls


def _grouping(groups: list[dict[str, Any]]) -> Grouping:
    return {g["id"]: frozenset(g["members"]) for g in groups}


def _stored(course: Course, parent: str | None = None) -> Grouping:
    """The class groups under the parent (or the root), as stored, read back by a manager."""
    params = {"where": f"parentGroupID eq {parent}" if parent else "groupType eq 1"}
    groups = course.tenant.get(f"/user/Resource/{course.resource_id}/Group", params=params).json()["data"]
    ids = [g["id"] for g in groups if g["parentGroupID"] == parent]
    search = course.tenant.get(
        f"/user/Resource/{course.resource_id}/Group/Search",
        params={"parentGroupID": parent or ""},
    ).json()["data"]
    members: dict[str, set[str]] = {g: set() for g in ids}
    for row in search:
        for group in row["groups"]:
            members[group["id"]].add(row["userID"])
    return {g: frozenset(m) for g, m in members.items()}


def _assert_whole(course: Course, stored: Grouping, candidates: list[Grouping]) -> None:
    assert stored in candidates, "the stored grouping mixes two saves"
    counts = Counter(m for members in stored.values() for m in members)
    assert set(counts.values()) == {1}, "a student is in two sibling groups"
    assert set(counts) == course.user_ids()


def _at_once(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response]:
    """Run the calls in threads released together; their answers, in order."""
    barrier = threading.Barrier(len(calls))
    answers: list[httpx.Response | None] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        answers[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(a is not None for a in answers)
    return [a for a in answers if a is not None]


def _client(url: str, tenant: Tenant) -> httpx.Client:
    return httpx.Client(base_url=url, headers=tenant.headers(), timeout=120)


def test_saves_from_two_server_processes_end_in_one_grouping_whole(
    tenant: Tenant, server_processes: list[str]
) -> None:
    course = make_course(tenant, students=80)
    course.add_class_groups(*(f"G{i}" for i in range(8)))
    with _client(server_processes[0], tenant) as a, _client(server_processes[1], tenant) as b:
        for round_ in range(4):
            body = {"resourceID": course.resource_id, "toUpdate": True}
            first, second = {**body, "seed": 10 + round_}, {**body, "seed": 20 + round_}
            answers = _at_once(
                [
                    lambda: a.post("/user/Groups/Randomise", json=first),  # noqa: B023 - run at once
                    lambda: b.post("/user/Groups/Randomise", json=second),  # noqa: B023
                ]
            )
            assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
            _assert_whole(course, _stored(course), [_grouping(r.json()) for r in answers])


def test_a_save_racing_an_update_of_users_ends_in_one_of_them_whole(
    tenant: Tenant, server_processes: list[str]
) -> None:
    course = make_course(tenant, students=40)
    (parent,) = course.add_class_groups("Lecture")
    subs = course.add_class_groups("Team 1", "Team 2", "Team 3", parent=parent["id"])
    users = sorted(course.user_ids())
    by_hand = {g["id"]: users[i::3] for i, g in enumerate(subs)}
    update = {"iDs_UserGuids": [{"key": g, "value": u} for g, u in by_hand.items()]}
    with _client(server_processes[0], tenant) as a, _client(server_processes[1], tenant) as b:
        for round_ in range(4):
            save = {
                "resourceID": course.resource_id,
                "parentGroupID": parent["id"],
                "toUpdate": True,
                "seed": round_,
            }
            answers = _at_once(
                [
                    lambda: a.post("/user/Groups/Randomise", json=save),  # noqa: B023 - run at once
                    lambda: b.put("/user/Groups/Users", json=update),
                ]
            )
            assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
            _assert_whole(
                course,
                _stored(course, parent["id"]),
                [_grouping(answers[0].json()), _grouping(answers[1].json())],
            )


def test_a_save_that_fails_half_way_changes_nothing(course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    course.add_class_groups("A", "B", "C")
    first = course.randomise(toUpdate=True, seed=1)
    assert first.status_code == 200
    before = _stored(course)
    assert before == _grouping(first.json())

    def write_half_then_fail(session: Any, rows: Any, **kwargs: Any) -> None:
        write_memberships(session, rows[: len(rows) // 2], **kwargs)
        session.flush()
        raise RuntimeError("the database went away in the middle of the save")

    monkeypatch.setattr("studentgroups.formations.service.write_memberships", write_half_then_fail)
    failed = course.randomise(toUpdate=True, seed=2)
    assert failed.status_code == 500
    assert failed.json() == "The server failed; nothing was saved."
    assert failed.headers["Connection"] == "close"
    monkeypatch.undo()
    assert _stored(course) == before
