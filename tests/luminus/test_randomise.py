"""POST /user/Groups/Randomise, rule by rule (the contract's Randomise section)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import Engine, event

from studentgroups.tables.instances import Role
from tests.factories import Tenant
from tests.live_server import LiveServer
from tests.luminus.conftest import GROUP_MODEL, Course, make_course


def _members(groups: list[dict[str, Any]]) -> dict[str, list[str]]:
    return {g["id"]: g["members"] for g in groups}


def _saved_members(course: Course) -> dict[str, set[str]]:
    """What is stored, read back through the list call and the Domoscio members endpoint."""
    listing = course.tenant.get(
        f"/user/Resource/{course.resource_id}/Group", params={"where": "groupType eq 1"}
    )
    out = {}
    for group in listing.json()["data"]:
        module_groups = course.tenant.get("/student_groups").json()
        gid = next(g["id"] for g in module_groups if g["name"] == group["groupName"])
        out[group["id"]] = {s["uuid"] for s in course.tenant.get(f"/student_groups/{gid}/students").json()}
    return out


def test_preview_deals_the_roster_into_the_root_class_groups_and_changes_nothing(course: Course) -> None:
    groups = course.add_class_groups("A", "B", "C", "D", "E")
    response = course.randomise(toUpdate=False)
    assert response.status_code == 200
    body = response.json()
    assert [g["id"] for g in body] == [g["id"] for g in groups]
    assert set(body[0]) == GROUP_MODEL | {"members"}
    assert all(g["groupType"] == 1 and g["groupTypeName"] == "Class Group" for g in body)
    placed = [m for g in body for m in g["members"]]
    assert sorted(placed) == sorted(course.user_ids())
    assert {len(g["members"]) for g in body} <= {2, 3}
    assert response.headers["X-Randomise-Saved"] == "false"
    assert response.headers["X-Unplaced-Count"] == "0"
    assert all(not members for members in _saved_members(course).values())


def test_save_writes_the_grouping_and_answers_it(course: Course) -> None:
    course.add_class_groups("A", "B", "C")
    response = course.randomise(toUpdate=True)
    assert response.status_code == 200
    assert response.headers["X-Randomise-Saved"] == "true"
    answered = {k: set(v) for k, v in _members(response.json()).items()}
    assert _saved_members(course) == answered


def test_a_seed_reproduces_the_preview_exactly_when_saved(course: Course) -> None:
    course.add_class_groups("A", "B", "C", "D")
    preview = course.randomise()
    seed = int(preview.headers["X-Randomise-Seed"])
    again = course.randomise(seed=seed)
    assert again.json() == preview.json()
    saved = course.randomise(seed=seed, toUpdate=True)
    assert saved.json() == preview.json()
    assert _saved_members(course) == {k: set(v) for k, v in _members(preview.json()).items()}
    assert course.randomise(seed=seed + 1).json() != preview.json()


def test_saving_again_moves_students_already_in_a_sibling_group(course: Course) -> None:
    course.add_class_groups("A", "B", "C")
    first = course.randomise(toUpdate=True, seed=1).json()
    second = course.randomise(toUpdate=True, seed=2).json()
    assert _members(first) != _members(second)
    stored = _saved_members(course)
    assert stored == {k: set(v) for k, v in _members(second).items()}
    counts = Counter(m for members in stored.values() for m in members)
    assert set(counts.values()) == {1}
    assert set(counts) == course.user_ids()


def test_sizes_differ_by_at_most_one_and_max_user_is_never_exceeded(tenant: Tenant) -> None:
    course = make_course(tenant, students=20)
    course.add_class_groups("Small", maxUser=2)
    course.add_class_groups("Open 1", "Open 2", "Open 3")
    body = course.randomise(seed=7).json()
    sizes = {g["groupName"]: len(g["members"]) for g in body}
    assert sizes["Small"] == 2
    assert sorted(v for k, v in sizes.items() if k != "Small") == [6, 6, 6]


def test_students_with_no_room_are_reported_never_dropped(tenant: Tenant) -> None:
    course = make_course(tenant, students=10)
    course.add_class_groups("A", "B", maxUser=3)
    response = course.randomise(toUpdate=True)
    body = response.json()
    placed = {m for g in body for m in g["members"]}
    unplaced = set(response.headers["X-Unplaced-Users"].split(","))
    assert response.headers["X-Unplaced-Count"] == "4"
    assert len(placed) == 6
    assert placed | unplaced == course.user_ids()
    assert not placed & unplaced


def test_guests_join_the_pool_unless_excluded(tenant: Tenant) -> None:
    course = make_course(tenant, students=6, guests=3)
    course.add_class_groups("A", "B", "C")
    with_guests = {m for g in course.randomise().json() for m in g["members"]}
    assert with_guests == course.user_ids() | course.user_ids("guests")
    without = {m for g in course.randomise(excludeGuestStudent=True).json() for m in g["members"]}
    assert without == course.user_ids()


def test_sub_groups_under_a_parent_are_the_targets(course: Course) -> None:
    (lecture,) = course.add_class_groups("Lecture group")
    subs = course.add_class_groups("Team 1", "Team 2", parent=lecture["id"])
    course.add_class_groups("Other root group")
    response = course.randomise(parentGroupID=lecture["id"], toUpdate=True)
    assert response.status_code == 200
    assert [g["id"] for g in response.json()] == [g["id"] for g in subs]
    assert all(g["parentGroupID"] == lecture["id"] for g in response.json())


def test_an_empty_parent_group_id_means_the_root(course: Course) -> None:
    course.add_class_groups("A", "B")
    response = course.randomise(parentGroupID="")
    assert response.status_code == 200
    assert len(response.json()) == 2


def test_json_patch_content_type_is_accepted(course: Course) -> None:
    course.add_class_groups("A", "B")
    response = course.tenant.post(
        "/user/Groups/Randomise",
        content=f'{{"resourceID": "{course.resource_id}"}}'.encode(),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert response.status_code == 200


# The documented errors, each a 400/403 whose body is a JSON string that says what is wrong.


def _error(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    message = response.json()
    assert isinstance(message, str)
    for word in words:
        assert word in message, message


def test_groups_with_sub_groups_are_refused(course: Course) -> None:
    (parent,) = course.add_class_groups("Has children")
    course.add_class_groups("Child", parent=parent["id"])
    _error(course.randomise(), 400, "sub-groups")


def test_a_parent_that_is_not_a_class_group_is_refused(course: Course) -> None:
    roster_id = course.module["roster_group_id"]
    roster = next(
        g
        for g in course.tenant.get(f"/user/Resource/{course.resource_id}/Group").json()["data"]
        if g["groupType"] == 2
    )
    assert roster_id
    _error(course.randomise(parentGroupID=roster["id"]), 400, "Student Roster", "class groups only")


def test_no_class_groups_to_fill_is_refused(course: Course) -> None:
    _error(course.randomise(), 400, "no class groups")


def test_an_unknown_module_is_404_as_a_string(tenant: Tenant) -> None:
    response = tenant.post(
        "/user/Groups/Randomise", json={"resourceID": "00000000-0000-4000-8000-000000000000"}
    )
    _error(response, 404, "00000000-0000-4000-8000-000000000000")


def test_another_instances_module_is_404_and_untouched(course: Course, make_tenant: Any) -> None:
    course.add_class_groups("A", "B")
    intruder = make_tenant()
    response = intruder.post(
        "/user/Groups/Randomise", json={"resourceID": course.resource_id, "toUpdate": True}
    )
    _error(response, 404)
    assert all(not members for members in _saved_members(course).values())


def test_a_key_whose_user_does_not_manage_the_module_is_403(course: Course) -> None:
    course.add_class_groups("A", "B")
    other_staff = course.tenant.new_key(Role.STAFF, user="another-teacher")
    response = course.tenant.post(
        "/user/Groups/Randomise", key=other_staff, json={"resourceID": course.resource_id, "toUpdate": True}
    )
    _error(response, 403, "does not manage")
    reader = course.tenant.new_key(Role.READ_ONLY)
    _error(
        course.tenant.post("/user/Groups/Randomise", key=reader, json={"resourceID": course.resource_id}), 403
    )
    assert all(not members for members in _saved_members(course).values())


def test_module_staff_may_randomise(course: Course) -> None:
    course.add_class_groups("A", "B")
    ta = course.tenant.new_key(Role.STAFF, user="ta")
    assert (
        course.tenant.post(f"/modules/{course.module['id']}/staff", json={"users": ["ta"]}).status_code == 204
    )
    response = course.tenant.post("/user/Groups/Randomise", key=ta, json={"resourceID": course.resource_id})
    assert response.status_code == 200


def test_bad_input_is_a_string_naming_the_field(tenant: Tenant) -> None:
    _error(tenant.post("/user/Groups/Randomise", json={"toUpdate": True}), 400, "resourceID")
    _error(tenant.post("/user/Groups/Randomise", json={"resourceID": "not-a-uuid"}), 400, "resourceID")
    _error(
        tenant.post(
            "/user/Groups/Randomise",
            json={"resourceID": "00000000-0000-4000-8000-000000000000", "toUpdate": "maybe"},
        ),
        400,
        "toUpdate",
    )


def test_two_saves_at_once_end_in_one_grouping_whole(tenant: Tenant) -> None:
    course = make_course(tenant, students=60)
    course.add_class_groups(*(f"G{i}" for i in range(6)))
    for round_ in range(3):
        barrier = threading.Barrier(2)
        answers: dict[int, Any] = {}

        def save(seed: int, answers: dict[int, Any] = answers, barrier: threading.Barrier = barrier) -> None:
            with httpx.Client(
                base_url=str(tenant.http.base_url), headers=tenant.headers(), timeout=60
            ) as client:
                barrier.wait()
                answers[seed] = client.post(
                    "/user/Groups/Randomise",
                    json={"resourceID": course.resource_id, "toUpdate": True, "seed": seed},
                )

        threads = [threading.Thread(target=save, args=(s,)) for s in (100 + round_, 200 + round_)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {a.status_code for a in answers.values()} == {200}
        groupings = [{k: set(v) for k, v in _members(a.json()).items()} for a in answers.values()]
        stored = _saved_members(course)
        assert stored in groupings
        counts = Counter(m for members in stored.values() for m in members)
        assert set(counts.values()) == {1}
        assert set(counts) == course.user_ids()


@contextmanager
def _statements(engine: Engine) -> Iterator[list[str]]:
    """The SQL statements the server runs inside the block."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_no_query_runs_per_student(tenant: Tenant, server: LiveServer) -> None:
    counts = []
    for students in (5, 50):
        course = make_course(tenant, students=students)
        course.add_class_groups("A", "B", "C")
        with _statements(server.app.state.engine) as preview:
            assert course.randomise().status_code == 200
        with _statements(server.app.state.engine) as save:
            assert course.randomise(toUpdate=True).status_code == 200
        counts.append((len(preview), len(save)))
    assert counts[0] == counts[1], counts


def test_a_report_lists_every_student_no_group_had_room_for(tenant: Tenant) -> None:
    course = make_course(tenant, students=120)
    course.add_class_groups("A", "B", maxUser=5)
    response = course.randomise(report=True, seed=3)
    assert response.status_code == 200
    report = response.json()
    assert set(report) == {"groups", "unplaced", "seed", "strategy", "saved", "quality", "formationID"}
    assert (report["seed"], report["strategy"], report["saved"]) == (3, "random", False)
    assert report["formationID"] is None  # a preview is not recorded
    assert report["quality"]["sizes"] == [5, 5]
    assert [len(g["members"]) for g in report["groups"]] == [5, 5]
    assert set(report["groups"][0]) == GROUP_MODEL | {"members"}
    placed = {m for g in report["groups"] for m in g["members"]}
    assert len(report["unplaced"]) == 110
    assert placed | set(report["unplaced"]) == course.user_ids()
    assert response.headers["X-Unplaced-Count"] == "110"
    in_header = response.headers["X-Unplaced-Users"].split(",")
    assert in_header == report["unplaced"][:100]
    assert response.headers["X-Unplaced-Users-Truncated"] == "true"
    plain = course.randomise(seed=3).json()
    assert plain == report["groups"]


def test_randomise_takes_an_objective_and_protected_values_beyond_the_document(tenant: Tenant) -> None:
    course = make_course(tenant, students=30)
    course.add_class_groups("A", "B", "C", "D", "E", "F")
    response = course.randomise(
        report=True,
        seed=5,
        strategy="balanced",
        numericAttributes=["results"],
        noIsolation=["sexe"],
        protectedValues={"sexe": ["undefined"]},
        minorityShare=0.2,
        objective="means",
    )
    assert response.status_code == 200, response.text
    assert response.json()["strategy"] == "balanced"
    refused = course.randomise(strategy="balanced", noIsolation=["sexe"], protectedValues={"gender": ["X"]})
    assert refused.status_code == 400
    assert "noIsolation" in refused.json()
    assert "protectedValues" in refused.json()
    wrong = course.randomise(strategy="balanced", objective="spread")
    assert wrong.status_code == 400
    assert "objective" in wrong.json()


def test_randomise_keeps_each_class_group_within_one_section_beyond_the_document(tenant: Tenant) -> None:
    course = make_course(tenant, students=30)
    section_of: dict[str, str] = {}
    for i, student in enumerate(course.roster):
        section = "A" if i < 20 else "B"
        changed = tenant.put(f"/students/{student['id']}", json={"attributes": {"section": section}})
        assert changed.status_code == 200, changed.text
        section_of[student["uuid"]] = section
    course.add_class_groups("T1", "T2", "T3")
    response = course.randomise(report=True, seed=5, sections="section")
    assert response.status_code == 200, response.text
    held = sorted(sorted({section_of[m] for m in g["members"]}) for g in response.json()["groups"])
    assert held == [["A"], ["A"], ["B"]]  # 20 and 10 of 30 in 3 groups: 2 and 1
