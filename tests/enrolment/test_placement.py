"""Placing students the learners' own sign-up left out: late enrollees at once, and every student
still without a group at the window's close (by a manager's call, or by the service itself)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.db import transaction
from studentgroups.enrolment.allocation import SYSTEM_ACTOR, close_due_windows
from studentgroups.main import create_app
from studentgroups.modules import roster_import
from studentgroups.settings import Settings
from tests.enrolment.test_self_enrol import CLOSED, OPEN, Cohort, join, members
from tests.factories import Tenant, unique
from tests.live_server import LiveServer
from tests.luminus.conftest import make_course
from tests.test_cli import run


@pytest.fixture
def cohort(tenant: Tenant) -> Cohort:
    course = make_course(tenant, students=10, guests=2)
    (parent,) = course.add_class_groups(unique("Tutorials"))
    return Cohort(course, parent)


def add_to_roster(tenant: Tenant, module: dict[str, Any], kind: str = "roster") -> tuple[dict[str, Any], Any]:
    student = tenant.student()
    return student, tenant.post(f"/modules/{module['id']}/{kind}", json={"student_ids": [student["id"]]})


def in_groups(cohort: Cohort, user: str) -> set[str]:
    return {g["groupName"] for g in cohort.offers(user).json()["data"] if g["isMember"]}


def test_a_late_enrollee_goes_into_the_smallest_group_with_room(cohort: Cohort) -> None:
    a, b, _c = cohort.groups("A", "B", "C", maxUser=3)
    roster = [s["uuid"] for s in cohort.course.roster]
    join(cohort.tenant, a, roster[0])
    join(cohort.tenant, a, roster[1])
    join(cohort.tenant, b, roster[2])
    assert cohort.policy(placeLateEnrollees=True)["placeLateEnrollees"] is True

    newcomer, response = add_to_roster(cohort.tenant, cohort.course.module)
    assert response.status_code == 200, response.text
    assert (response.json()["placed"], response.json()["unplaced_student_ids"]) == (1, [])
    assert in_groups(cohort, newcomer["uuid"]) == {"C"}
    # C and B now hold one each: the next goes to B, the first made of the smallest.
    second, _ = add_to_roster(cohort.tenant, cohort.course.module)
    assert in_groups(cohort, second["uuid"]) == {"B"}


def test_late_enrollees_never_overfill_and_the_unplaced_are_named(cohort: Cohort) -> None:
    (only,) = cohort.groups("Only", maxUser=1)
    cohort.policy(placeLateEnrollees=True)
    first, placed = add_to_roster(cohort.tenant, cohort.course.module)
    assert placed.json()["placed"] == 1
    second, refused = add_to_roster(cohort.tenant, cohort.course.module)
    assert refused.status_code == 200, refused.text
    assert (refused.json()["placed"], refused.json()["unplaced_student_ids"]) == (0, [second["id"]])
    assert members(cohort)["Only"] == 1
    assert in_groups(cohort, first["uuid"]) == {"Only"}
    del only


def test_without_the_policy_a_newcomer_stays_unplaced(cohort: Cohort) -> None:
    cohort.groups("A")
    newcomer, response = add_to_roster(cohort.tenant, cohort.course.module)
    assert response.json()["placed"] == 0
    assert in_groups(cohort, newcomer["uuid"]) == set()


def test_a_late_guest_is_placed_only_where_guests_are_admitted(cohort: Cohort) -> None:
    cohort.groups("A")
    cohort.policy(placeLateEnrollees=True)
    guest, response = add_to_roster(cohort.tenant, cohort.course.module, kind="guests")
    assert response.json()["placed"] == 0
    cohort.policy(admitGuests=True)
    other, admitted = add_to_roster(cohort.tenant, cohort.course.module, kind="guests")
    assert admitted.json()["placed"] == 1
    assert in_groups(cohort, other["uuid"]) == {"A"}
    del guest


def test_a_roster_file_import_places_late_enrollees_too(
    cohort: Cohort, sessions: sessionmaker[Session]
) -> None:
    cohort.groups("A", "B")
    cohort.policy(placeLateEnrollees=True)
    uid = unique("csv-learner")
    with transaction(sessions) as session:
        roster_import.import_roster(
            session,
            instance_id=cohort.tenant.instance_id,
            module=str(cohort.course.module["id"]),
            entries=[roster_import.RosterEntry(2, roster_import.StudentProfile(uid=uid))],
        )
    student = next(
        s for s in cohort.tenant.get("/students", params={"limit": 10_000}).json() if s["uid"] == uid
    )
    assert len(in_groups(cohort, student["uuid"])) == 1


def test_allocate_previews_then_places_everyone_without_a_group(cohort: Cohort) -> None:
    a, b = cohort.groups("A", "B", maxUser=4)
    roster = [s["uuid"] for s in cohort.course.roster]
    join(cohort.tenant, a, roster[0])
    body = {"resourceID": cohort.course.resource_id, "parentGroupID": cohort.parent["id"]}

    preview = cohort.tenant.post("/user/Groups/SelfEnrol/Allocate", json={**body, "toUpdate": False})
    assert preview.status_code == 200, preview.text
    report = preview.json()
    assert report["saved"] is False
    assert report["formationID"] is None
    assert len(report["placed"]) == 7
    assert len(report["unplaced"]) == 2
    assert set(report["placed"]) | set(report["unplaced"]) == set(roster[1:])
    assert members(cohort)["A"] == 1  # a preview changes nothing

    saved = cohort.tenant.post(
        "/user/Groups/SelfEnrol/Allocate", json={**body, "toUpdate": True, "seed": report["seed"]}
    ).json()
    assert saved["saved"] is True
    assert saved["formationID"] is not None
    assert (saved["placed"], saved["unplaced"]) == (report["placed"], report["unplaced"])
    assert (members(cohort)["A"], members(cohort)["B"]) == (4, 4)
    assert roster[0] in next(g for g in saved["groups"] if g["id"] == a["id"])["members"]
    del b


def test_guests_are_allocated_only_when_admitted(cohort: Cohort) -> None:
    cohort.groups("A")
    body = {"resourceID": cohort.course.resource_id, "parentGroupID": cohort.parent["id"]}
    guests = {g["uuid"] for g in cohort.course.guests}
    without = cohort.tenant.post("/user/Groups/SelfEnrol/Allocate", json=body).json()
    assert not guests & set(without["placed"])
    cohort.policy(admitGuests=True)
    with_guests = cohort.tenant.post("/user/Groups/SelfEnrol/Allocate", json=body).json()
    assert guests <= set(with_guests["placed"])


def test_at_the_close_the_service_places_the_rest_once_and_reports_the_unplaced(
    cohort: Cohort, sessions: sessionmaker[Session]
) -> None:
    cohort.groups("A", "B", maxUser=4, **CLOSED)
    roster = [s["uuid"] for s in cohort.course.roster]
    policy = cohort.policy(allocateAfterClose=True)
    assert policy["closesAt"] == "2021-01-01T00:00:00Z"
    assert policy["lastAllocation"] is None

    closed = [c for c in close_due_windows(sessions) if c.instance_id == cohort.tenant.instance_id]
    assert [(c.placed, c.unplaced, c.error) for c in closed] == [(8, 2, None)]
    assert [c for c in close_due_windows(sessions) if c.instance_id == cohort.tenant.instance_id] == []
    assert (members(cohort)["A"], members(cohort)["B"]) == (4, 4)

    read = cohort.tenant.get(
        f"/user/Resource/{cohort.course.resource_id}/Group/SelfEnrol/Policy",
        params={"parentGroupID": cohort.parent["id"]},
    ).json()
    last = read["lastAllocation"]
    assert last["error"] is None
    assert last["formationID"] is not None
    assert len(last["unplaced"]) == 2
    assert set(last["unplaced"]) <= set(roster)
    events = cohort.tenant.get("/audit_events", params={"operation": "allocate_after_close"}).json()
    assert [(e["actor"], e["method"]) for e in events] == [(SYSTEM_ACTOR, "TASK")]
    history = cohort.tenant.get(f"/formations/{last['formationID']}")
    assert history.status_code == 200, history.text


def test_a_window_still_open_is_not_allocated(cohort: Cohort, sessions: sessionmaker[Session]) -> None:
    cohort.groups("A", **OPEN)
    cohort.policy(allocateAfterClose=True)
    close_due_windows(sessions)
    assert members(cohort)["A"] == 0
    soon = datetime(2099, 1, 1, tzinfo=UTC) + timedelta(seconds=1)
    closed = [c for c in close_due_windows(sessions, soon) if c.instance_id == cohort.tenant.instance_id]
    assert [c.placed for c in closed] == [10]


def test_an_allocation_that_cannot_run_is_recorded_not_retried(
    cohort: Cohort, sessions: sessionmaker[Session]
) -> None:
    # At the module's root: the root class groups include the cohort's parent, which has
    # sub-groups, so the root cannot be allocated.
    cohort.groups("Sub")
    cohort.course.add_class_groups("Root", **CLOSED)
    armed = cohort.tenant.put(
        "/user/Groups/SelfEnrol/Policy",
        json={"resourceID": cohort.course.resource_id, "allocateAfterClose": True},
    )
    assert armed.status_code == 200, armed.text
    closed = [c for c in close_due_windows(sessions) if c.instance_id == cohort.tenant.instance_id]
    assert len(closed) == 1
    assert closed[0].error is not None
    assert "sub-groups" in closed[0].error
    assert [c for c in close_due_windows(sessions) if c.instance_id == cohort.tenant.instance_id] == []
    read = cohort.tenant.get(f"/user/Resource/{cohort.course.resource_id}/Group/SelfEnrol/Policy").json()
    assert "sub-groups" in read["lastAllocation"]["error"]


def test_the_service_closes_windows_by_itself(cohort: Cohort, database_url: str) -> None:
    cohort.groups("A", maxUser=3, **CLOSED)
    cohort.policy(allocateAfterClose=True)
    sweeping = LiveServer(
        create_app(Settings(database_url=database_url, rate_limit_per_minute=0, enrolment_sweep_seconds=0.05))
    ).start()
    try:
        read: dict[str, Any] = {}
        for _ in range(400):  # the sweep runs every 50 ms; give it up to 400 looks
            read = cohort.tenant.get(
                f"/user/Resource/{cohort.course.resource_id}/Group/SelfEnrol/Policy",
                params={"parentGroupID": cohort.parent["id"]},
            ).json()
            if read["lastAllocation"] is not None:
                break
            time.sleep(0.05)
    finally:
        sweeping.stop()
    assert read["lastAllocation"] is not None
    assert len(read["lastAllocation"]["unplaced"]) == 7
    assert members(cohort)["A"] == 3


def test_close_enrolment_from_the_command_line(cohort: Cohort, database_url: str) -> None:
    cohort.groups("A", maxUser=4, **CLOSED)
    cohort.policy(allocateAfterClose=True)
    result = run(database_url, "close-enrolment")
    assert result.returncode == 0, result.stderr
    assert "4 placed, 6 without a group" in result.stdout
    assert "window(s) closed" in result.stderr
    assert members(cohort)["A"] == 4
