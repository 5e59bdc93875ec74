"""Self-enrolment under contention (issue 7), end to end over HTTP, many connections at once.

A cohort races for the seats of one group, each learner races themselves into sibling groups,
and members leave a full group with a queue all at once. On whatever database the suite runs:
on PostgreSQL every write locks the module's row first; on SQLite every writer begins IMMEDIATE.
Either way the count a join reads is the count it writes against, so no group goes over its
`maxUser`, nobody holds two groups under one parent, and a freed seat goes to the first in the
queue. A refusal is the rule's own ("Refused (full)", "Refused (already in a group)"), never a
"send it again" 409 with `Retry-After`: serialising on the lock must not turn into collisions.

The cohort is put on the module's roster as `studentgroups roster import` puts it (one set-based
unit of work); everything else goes through the API.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from studentgroups.db import transaction
from studentgroups.main import create_app
from studentgroups.modules.roster_import import RosterEntry, StudentProfile, import_roster
from studentgroups.settings import Settings
from tests.factories import Tenant, unique
from tests.live_server import LiveServer

SEATS = 30
OPEN = {
    "selfEnrol": True,
    "selfEnrolOpenDate": "2020-01-01T00:00:00Z",
    "selfEnrolCloseDate": "2099-01-01T00:00:00Z",
}
"""A self-enrolment window open now, and for the life of this code."""

Call = tuple[str, str, dict[str, Any] | None]
"""A request: method, path, JSON body."""


@dataclass
class Cohort:
    """A module and the learners on its roster (their user ids, in roster order)."""

    tenant: Tenant
    module: dict[str, Any]
    user_ids: list[str]

    @property
    def resource_id(self) -> str:
        return str(self.module["uuid"])

    def class_groups(self, *names: str, parent: str | None = None, **fields: Any) -> list[dict[str, Any]]:
        """New class groups under `parent` (the module's root when None), each with these fields."""
        response = self.tenant.post(
            "/user/Groups/ClassGroups",
            json={
                "resourceID": self.resource_id,
                "parentGroupID": parent,
                "classGroup": [{"groupName": name, **fields} for name in names],
            },
        )
        assert response.status_code == 200, response.text
        groups: list[dict[str, Any]] = response.json()
        return groups

    def seats(self, *names: str, parent: str | None = None, **fields: Any) -> list[str]:
        """New self-enrolment groups, open now; their ids."""
        return [g["id"] for g in self.class_groups(*names, parent=parent, **{**OPEN, **fields})]

    def member_counts(self) -> dict[str, int]:
        """Each class group's id to its member count, from the module's group list."""
        response = self.tenant.get(f"/user/Resource/{self.resource_id}/Group")
        assert response.status_code == 200, response.text
        return {g["id"]: g["memberCount"] for g in response.json()["data"]}

    def groups_of(self, parent: str | None = None) -> dict[str, list[str]]:
        """Each learner's user id to the ids of the groups it is in under `parent`, from Search."""
        response = self.tenant.get(
            f"/user/Resource/{self.resource_id}/Group/Search",
            params={"limit": 10_000, **({"parentGroupID": parent} if parent else {})},
        )
        assert response.status_code == 200, response.text
        found = {s["userID"]: [g["id"] for g in s["groups"]] for s in response.json()["data"]}
        assert set(found) == set(self.user_ids)
        return found

    def offer(self, user_id: str, group_id: str, parent: str | None = None) -> dict[str, Any]:
        """The group as the learner sees it in the self-enrolment list: isMember, queuePosition, ..."""
        response = self.tenant.get(
            f"/user/Resource/{self.resource_id}/Group/SelfEnrol",
            params={"userID": user_id, **({"parentGroupID": parent} if parent else {})},
        )
        assert response.status_code == 200, response.text
        (found,) = [g for g in response.json()["data"] if g["id"] == group_id]
        return dict(found)


def enrol_cohort(tenant: Tenant, size: int) -> Cohort:
    """A new module with `size` new learners on its roster."""
    module = tenant.post("/modules", json={"code": unique("CS"), "name": "Contended course"}).json()
    prefix = unique("cohort")
    entries = [RosterEntry(line, StudentProfile(uid=f"{prefix}-{line:05d}")) for line in range(2, size + 2)]
    with transaction(tenant.sessions) as session:
        done = import_roster(
            session, instance_id=tenant.instance_id, module=str(module["id"]), entries=entries
        )
    assert (done.created, done.total) == (size, size)
    response = tenant.get(f"/user/Resource/{module['uuid']}/Group/Search", params={"limit": 10_000})
    assert response.status_code == 200, response.text
    by_uid = {s["uid"]: s["userID"] for s in response.json()["data"]}
    return Cohort(tenant, module, [by_uid[e.student.uid] for e in entries])


def join(group_id: str, user_id: str, *, queue: bool = False) -> Call:
    return (
        "POST",
        f"/user/Groups/{group_id}/SelfEnrol",
        {"userID": user_id, "switch": False, "queue": queue},
    )


def leave(group_id: str, user_id: str) -> Call:
    return ("DELETE", f"/user/Groups/{group_id}/SelfEnrol?userID={user_id}", None)


def send(tenant: Tenant, call: Call) -> httpx.Response:
    """One call, alone."""
    method, path, body = call
    return tenant.request(method, path, json=body)


def race(tenant: Tenant, calls: Sequence[Call], *, url: str | None = None) -> list[httpx.Response]:
    """Send every call at once (to the tenant's server, or the one at `url`), each on a keep-alive
    connection of its own, all opened before any call is sent (a cohort of 1,000 is 1,000 requests
    in flight); the answers in the calls' order."""

    async def at_once() -> list[httpx.Response]:
        # A client per connection: one client's pool of 1,000 connections costs 20 s of CPU
        # (httpcore looks through its connections for every request); one TLS context for all.
        tls = ssl.create_default_context()
        base, headers = url or tenant.http.base_url, tenant.headers()
        clients = [httpx.AsyncClient(base_url=base, headers=headers, verify=tls, timeout=600) for _ in calls]
        try:
            opened = await asyncio.gather(*(client.get("/healthz") for client in clients))
            assert {r.status_code for r in opened} == {200}
            sent = (
                client.request(method, path, json=body)
                for client, (method, path, body) in zip(clients, calls, strict=True)
            )
            return list(await asyncio.gather(*sent))
        finally:
            await asyncio.gather(*(client.aclose() for client in clients))

    answers = asyncio.run(at_once())
    # Nothing was answered "busy": a cohort is served, not bounced.
    assert not [a.text for a in answers if a.status_code >= 500]
    return answers


def _answered(answer: httpx.Response) -> dict[str, Any]:
    """The body of a 200 (else the failure shows what was answered instead)."""
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _refusals(answers: Sequence[httpx.Response], reason: str) -> None:
    """Every answer is 409 with the rule's own refusal: no collision to retry, no 5xx."""
    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert "retry-after" not in answer.headers, answer.text
        message = answer.json()
        assert isinstance(message, str), message
        assert message.startswith(reason), message


def test_a_thousand_concurrent_joins_fill_a_group_of_thirty_exactly(tenant: Tenant) -> None:
    cohort = enrol_cohort(tenant, 1_000)
    (group,) = cohort.seats("T1", maxUser=SEATS, waitlist=False)

    answers = race(tenant, [join(group, u) for u in cohort.user_ids])

    assert Counter(a.status_code for a in answers) == {200: SEATS, 409: 1_000 - SEATS}
    joined = {u: a.json() for u, a in zip(cohort.user_ids, answers, strict=True) if a.status_code == 200}
    assert {body["status"] for body in joined.values()} == {"joined"}
    # Each join counted the members under the lock: the seats were taken one after the other.
    assert sorted(body["memberCount"] for body in joined.values()) == list(range(1, SEATS + 1))
    _refusals([a for a in answers if a.status_code != 200], "Refused (full)")
    assert cohort.member_counts()[group] == SEATS
    assert {u for u, groups in cohort.groups_of().items() if group in groups} == set(joined)


def test_a_thousand_concurrent_joins_with_a_waiting_list_seat_thirty_and_queue_the_rest_in_order(
    tenant: Tenant,
) -> None:
    cohort = enrol_cohort(tenant, 1_000)
    (group,) = cohort.seats("T1", maxUser=SEATS, waitlist=True)

    answers = race(tenant, [join(group, u, queue=True) for u in cohort.user_ids])

    bodies = {u: _answered(a) for u, a in zip(cohort.user_ids, answers, strict=True)}
    assert Counter(b["status"] for b in bodies.values()) == {"joined": SEATS, "queued": 1_000 - SEATS}
    joined = {u: b["memberCount"] for u, b in bodies.items() if b["status"] == "joined"}
    assert sorted(joined.values()) == list(range(1, SEATS + 1))
    positions = {u: b["queuePosition"] for u, b in bodies.items() if b["status"] == "queued"}
    assert sorted(positions.values()) == list(range(1, 1_000 - SEATS + 1))
    assert cohort.member_counts()[group] == SEATS
    assert {u for u, groups in cohort.groups_of().items() if group in groups} == set(joined)
    # The queue stands as the answers said: its first, its last, and a learner in the middle.
    ordered = sorted(positions, key=positions.__getitem__)
    for user in (ordered[0], ordered[len(ordered) // 2], ordered[-1]):
        offer = cohort.offer(user, group)
        assert (offer["isMember"], offer["queuePosition"]) == (False, positions[user])
        assert (offer["memberCount"], offer["waitingCount"]) == (SEATS, 1_000 - SEATS)


def test_on_sqlite_the_service_serialises_its_own_writers_and_never_waits_on_the_file_lock(
    tenant: Tenant, database_url: str, on_postgres: bool
) -> None:
    if on_postgres:
        pytest.skip("SQLite's one writer at a time")
    # With no busy timeout at all, a writer that found the file locked would fail at once
    # ("database is locked", a 503): only the service's own queue keeps them apart.
    settings = Settings(
        database_url=database_url,
        sqlite_busy_timeout_ms=0,
        rate_limit_per_minute=0,
        enrolment_sweep_seconds=0,
    )
    live = LiveServer(create_app(settings)).start()
    try:
        cohort = enrol_cohort(tenant, 300)
        (group,) = cohort.seats("T1", maxUser=SEATS, waitlist=True)
        answers = race(tenant, [join(group, u, queue=True) for u in cohort.user_ids], url=live.url)
    finally:
        live.stop()
    statuses = Counter(_answered(a)["status"] for a in answers)
    assert statuses == {"joined": SEATS, "queued": 300 - SEATS}


@pytest.mark.parametrize("siblings", [2, 3])
def test_a_student_racing_to_join_two_sibling_groups_ends_in_at_most_one(
    tenant: Tenant, siblings: int
) -> None:
    learners = 150
    cohort = enrol_cohort(tenant, learners)
    (parent,) = cohort.class_groups("Tutorials")
    names = [f"T{i}" for i in range(1, siblings + 1)]
    groups = cohort.seats(*names, parent=parent["id"], maxUser=learners)  # room for all in any

    # A learner's joins are next to each other in the list: they are in flight together.
    answers = race(tenant, [join(g, u) for u in cohort.user_ids for g in groups])

    held = cohort.groups_of(parent["id"])
    for index, user in enumerate(cohort.user_ids):
        mine = dict(zip(groups, answers[siblings * index : siblings * (index + 1)], strict=True))
        won = [g for g, a in mine.items() if a.status_code == 200]
        assert len(won) == 1, [a.text for a in mine.values()]
        assert _answered(mine[won[0]])["status"] == "joined"
        _refusals([a for g, a in mine.items() if g != won[0]], "Refused (already in a group)")
        assert held[user] == won
    counts = cohort.member_counts()
    assert sum(counts[g] for g in groups) == learners


def test_leaving_a_full_group_with_a_queue_moves_exactly_one_queued_student_in(tenant: Tenant) -> None:
    cohort = enrol_cohort(tenant, SEATS + 20)
    (group,) = cohort.seats("T1", maxUser=SEATS, waitlist=True)
    members, queued = cohort.user_ids[:SEATS], cohort.user_ids[SEATS:]
    assert {_answered(a)["status"] for a in race(tenant, [join(group, u) for u in members])} == {"joined"}
    for position, user in enumerate(queued, start=1):
        answer = _answered(send(tenant, join(group, user, queue=True)))
        assert (answer["status"], answer["queuePosition"]) == ("queued", position)

    # One member leaves: the first in the queue takes the seat in the same transaction.
    answer = _answered(send(tenant, leave(group, members[0])))
    assert (answer["status"], answer["memberCount"]) == ("left", SEATS)
    assert cohort.member_counts()[group] == SEATS
    assert cohort.offer(queued[0], group)["isMember"] is True
    gone = cohort.offer(members[0], group)
    assert (gone["isMember"], gone["queuePosition"]) == (False, None)
    for position, user in enumerate(queued[1:], start=1):
        offer = cohort.offer(user, group)
        assert (offer["isMember"], offer["queuePosition"], offer["waitingCount"]) == (False, position, 19)

    # Ten more leave at once: exactly the next ten of the queue move in, and the group stays full.
    answers = [_answered(a) for a in race(tenant, [leave(group, u) for u in members[1:11]])]
    assert {(a["status"], a["memberCount"]) for a in answers} == {("left", SEATS)}
    assert cohort.member_counts()[group] == SEATS
    expected = set(members[11:]) | set(queued[:11])
    assert {u for u, groups in cohort.groups_of().items() if group in groups} == expected
    for position, user in enumerate(queued[11:], start=1):
        offer = cohort.offer(user, group)
        assert (offer["isMember"], offer["queuePosition"], offer["waitingCount"]) == (False, position, 9)
    for user in members[1:11]:
        offer = cohort.offer(user, group)
        assert (offer["isMember"], offer["queuePosition"]) == (False, None)
