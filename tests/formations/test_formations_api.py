"""Formations over HTTP: forming a parent's members into sub-groups (new or existing), the
strategies and constraints, the history of saves, and undo."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from studentgroups.db import transaction
from studentgroups.grouping import Target, random_assignment
from studentgroups.tables.instances import Role
from studentgroups.tables.students import Student
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course


def _parent_with(
    tenant: Tenant, count: int, **student_fields: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A root group and `count` students in it."""
    parent = tenant.group(unique("cohort"))
    students = [
        tenant.student(unique("s"), student_group_id=parent["id"], **student_fields) for _ in range(count)
    ]
    return parent, students


def _form(tenant: Tenant, group_id: int, key: str | None = None, **body: Any) -> httpx.Response:
    return tenant.post(f"/student_groups/{group_id}/formations", key=key, json=body)


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _stored(tenant: Tenant, group_ids: list[int]) -> dict[int, set[int]]:
    return {g: {s["id"] for s in tenant.get(f"/student_groups/{g}/students").json()} for g in group_ids}


def test_a_preview_creates_nothing_and_names_the_groups_it_would_make(tenant: Tenant) -> None:
    parent, students = _parent_with(tenant, 10)
    answer = _ok(_form(tenant, parent["id"], create={"count": 3}, seed=4))
    assert answer["saved"] is False
    assert answer["formation_id"] is None
    assert [g["name"] for g in answer["groups"]] == ["Group A", "Group B", "Group C"]
    assert all(g["id"] is None for g in answer["groups"])
    placed = [m for g in answer["groups"] for m in g["members"]]
    assert sorted(placed) == sorted(s["id"] for s in students)
    assert sorted(len(g["members"]) for g in answer["groups"]) == [3, 3, 4]
    assert answer["report"]["sizes"] == [len(g["members"]) for g in answer["groups"]]
    assert answer["report"]["violations"] == 0
    assert tenant.get(f"/student_groups/{parent['id']}/formations").json() == []


def test_groups_of_a_size_prevent_a_small_last_group_as_moodle_does(tenant: Tenant) -> None:
    parent, _ = _parent_with(tenant, 9)
    sizes = _ok(_form(tenant, parent["id"], create={"size": 4, "name_pattern": "Team #"}))
    assert [g["name"] for g in sizes["groups"]] == ["Team 1", "Team 2", "Team 3"]
    merged = _ok(_form(tenant, parent["id"], create={"size": 4, "prevent_small_last_group": True}))
    assert sorted(len(g["members"]) for g in merged["groups"]) == [4, 5]


def test_a_save_makes_the_groups_records_it_and_a_seed_reproduces_it(tenant: Tenant) -> None:
    parent, _students = _parent_with(tenant, 12)
    preview = _ok(_form(tenant, parent["id"], create={"count": 4}, seed=11))
    saved = _ok(_form(tenant, parent["id"], create={"count": 4}, seed=11, save=True))
    assert saved["saved"] is True
    assert isinstance(saved["formation_id"], int)
    assert [g["members"] for g in saved["groups"]] == [g["members"] for g in preview["groups"]]
    ids = [g["id"] for g in saved["groups"]]
    assert _stored(tenant, ids) == {g["id"]: set(g["members"]) for g in saved["groups"]}
    (entry,) = tenant.get(f"/student_groups/{parent['id']}/formations").json()
    assert entry["id"] == saved["formation_id"]
    assert entry["request"]["seed"] == 11
    assert entry["created_group_ids"] == ids
    assert entry["member_count"] == 12
    assert entry["reverted_at"] is None
    assert tenant.get(f"/formations/{entry['id']}").json() == entry


def test_undo_puts_the_memberships_back_and_deletes_the_groups_it_made(tenant: Tenant) -> None:
    parent, _ = _parent_with(tenant, 8)
    first = _ok(_form(tenant, parent["id"], create={"count": 2}, seed=1, save=True))
    second = _ok(_form(tenant, parent["id"], create={"count": 4}, seed=2, save=True))
    first_ids = [g["id"] for g in first["groups"]]
    assert all(not members for members in _stored(tenant, first_ids).values())  # the second moved them
    undone = tenant.post(f"/formations/{second['formation_id']}/revert")
    assert undone.status_code == 200, undone.text
    assert undone.json()["reverted_at"] is not None
    assert _stored(tenant, first_ids) == {g["id"]: set(g["members"]) for g in first["groups"]}
    assert all(tenant.get(f"/student_groups/{g['id']}").status_code == 404 for g in second["groups"])
    again = tenant.post(f"/formations/{second['formation_id']}/revert")
    assert again.status_code == 409


def test_undo_is_refused_when_the_groups_changed_since_and_says_what_changed(tenant: Tenant) -> None:
    parent, _students = _parent_with(tenant, 6)
    saved = _ok(_form(tenant, parent["id"], create={"count": 2}, save=True))
    group = saved["groups"][0]
    leaving = group["members"][0]
    assert tenant.delete(f"/student_groups/{group['id']}/students/{leaving}").status_code == 200
    refused = tenant.post(f"/formations/{saved['formation_id']}/revert")
    assert refused.status_code == 409
    problem = refused.json()
    assert "1 removed" in problem["detail"]
    assert problem["errors"][0]["message"] == f"student {leaving} from group {group['id']}"
    assert tenant.get(f"/student_groups/{group['id']}").status_code == 200


def test_balanced_groups_are_more_alike_than_random_ones(tenant: Tenant) -> None:
    parent = tenant.group(unique("cohort"))
    for i in range(60):
        tenant.student(
            unique("s"),
            student_group_id=parent["id"],
            sexe=("male", "female")[i % 2],
            attributes={"score": (i * 37 % 60) / 60},
        )
    balanced = _ok(
        _form(
            tenant,
            parent["id"],
            create={"count": 12},
            strategy="balanced",
            numeric=["score"],
            categorical=["sexe"],
            seed=3,
        )
    )
    (score,) = balanced["report"]["numeric"]
    assert score["attribute"] == "score"
    assert score["sd_of_means_ratio"] is not None
    assert score["sd_of_means_ratio"] < 0.5
    (sexe,) = balanced["report"]["categorical"]
    assert sexe["largest_deviation"] <= 1.0
    assert balanced["report"]["strategy"] == "balanced"


def test_results_can_be_balanced_as_a_number(tenant: Tenant) -> None:
    parent, students = _parent_with(tenant, 20)
    body = [
        {"student_id": s["id"], "item": "quiz", "score": i % 10, "max_score": 10}
        for i, s in enumerate(students)
    ]
    assert tenant.post("/results", json=body).status_code == 200
    answer = _ok(
        _form(tenant, parent["id"], create={"count": 4}, strategy="balanced", numeric=["results:quiz"])
    )
    assert answer["report"]["numeric"][0]["attribute"] == "results:quiz"
    assert answer["report"]["numeric"][0]["sd_of_means"] < 0.1


@pytest.fixture
def course_with_teams(tenant: Tenant) -> tuple[Course, dict[str, Any], list[dict[str, Any]], dict[int, int]]:
    """A module class group (the parent) holding its module's 12 students, with three sub-groups."""
    course = make_course(tenant, students=12)
    (lecture,) = course.add_class_groups(unique("Lecture"))
    placed = tenant.put(
        "/user/Groups/Users",
        json={"iDs_UserGuids": [{"key": lecture["id"], "value": [s["uuid"] for s in course.roster]}]},
    )
    assert placed.status_code == 200, placed.text
    teams = course.add_class_groups(unique("T1"), unique("T2"), unique("T3"), parent=lecture["id"], maxUser=5)
    ids = {g["name"]: g["id"] for g in tenant.get("/student_groups").json()}
    team_ids = {i: ids[t["groupName"]] for i, t in enumerate(teams)}
    return course, {**lecture, "db_id": ids[lecture["groupName"]]}, teams, team_ids


def test_hard_constraints_hold(course_with_teams: Any) -> None:
    course, lecture, _, team_ids = course_with_teams
    s = [st["id"] for st in course.roster]
    answer = _ok(
        _form(
            course.tenant,
            lecture["db_id"],
            keep_together=[[s[0], s[1], s[2]]],
            keep_apart=[[s[3], s[4], s[5]]],
            pinned=[{"student_id": s[6], "group_id": team_ids[2]}],
            seed=5,
        )
    )
    group_of = {m: g["id"] for g in answer["groups"] for m in g["members"]}
    assert group_of[s[0]] == group_of[s[1]] == group_of[s[2]]
    assert len({group_of[s[3]], group_of[s[4]], group_of[s[5]]}) == 3
    assert group_of[s[6]] == team_ids[2]
    assert max(len(g["members"]) for g in answer["groups"]) <= 5


def test_constraints_that_cannot_hold_are_a_400_that_says_why(course_with_teams: Any) -> None:
    course, lecture, _, _team_ids = course_with_teams
    s = [st["id"] for st in course.roster]
    too_big = _form(course.tenant, lecture["db_id"], keep_together=[s[:6]])
    assert too_big.status_code == 400
    assert too_big.json()["errors"][0]["rule"] == "infeasible"
    assert "keep_together" in too_big.json()["detail"]
    stranger = course.tenant.student(unique("stranger"))
    outside = _form(course.tenant, lecture["db_id"], keep_apart=[[s[0], stranger["id"]]])
    assert outside.status_code == 400
    assert outside.json()["errors"][0]["rule"] == "not_in_pool"
    not_target = _form(
        course.tenant, lecture["db_id"], pinned=[{"student_id": s[0], "group_id": lecture["db_id"]}]
    )
    assert not_target.status_code == 400
    assert not_target.json()["errors"][0]["rule"] == "not_a_target"


def test_top_up_places_only_the_newcomers_smallest_groups_first(course_with_teams: Any) -> None:
    course, lecture, teams, team_ids = course_with_teams
    roster = course.roster
    placed = course.tenant.put(
        "/user/Groups/Users",
        json={
            "iDs_UserGuids": [
                {"key": teams[0]["id"], "value": [st["uuid"] for st in roster[:4]]},
                {"key": teams[1]["id"], "value": [st["uuid"] for st in roster[4:5]]},
            ]
        },
    )
    assert placed.status_code == 200, placed.text
    answer = _ok(_form(course.tenant, lecture["db_id"], top_up=True, save=True, seed=2))
    sizes = {g["id"]: len(g["members"]) for g in answer["groups"]}
    assert sizes == {team_ids[0]: 4, team_ids[1]: 4, team_ids[2]: 4}
    stored = _stored(course.tenant, list(team_ids.values()))
    assert {st["id"] for st in roster[:4]} == stored[team_ids[0]]
    assert {roster[4]["id"]} <= stored[team_ids[1]]
    assert Counter(m for members in stored.values() for m in members) == Counter(
        {st["id"]: 1 for st in roster}
    )


def test_top_up_and_create_do_not_go_together(tenant: Tenant) -> None:
    parent, _ = _parent_with(tenant, 2)
    response = _form(tenant, parent["id"], create={"count": 2}, top_up=True)
    assert response.status_code == 400


def test_a_parent_without_sub_groups_needs_create(tenant: Tenant) -> None:
    parent, _ = _parent_with(tenant, 2)
    response = _form(tenant, parent["id"])
    assert response.status_code == 400
    assert "create" in response.json()["detail"]


def test_only_who_may_change_the_parent_forms_under_it(course_with_teams: Any, make_tenant: Any) -> None:
    course, lecture, _, _ = course_with_teams
    bystander = course.tenant.new_key(Role.STAFF, user=unique("bystander"))
    assert _form(course.tenant, lecture["db_id"], key=bystander).status_code == 403
    reader = course.tenant.new_key(Role.READ_ONLY)
    assert _form(course.tenant, lecture["db_id"], key=reader).status_code == 403
    assert _form(make_tenant(), lecture["db_id"]).status_code == 404


def test_randomise_balances_records_its_saves_and_can_be_undone(tenant: Tenant) -> None:
    course = make_course(tenant, students=24)
    for i, student in enumerate(course.roster):
        tenant.put(f"/students/{student['id']}", json={"attributes": {"score": (i * 7 % 24) / 24}})
    course.add_class_groups("A", "B", "C", "D")
    first = course.randomise(toUpdate=True, seed=1)
    assert first.status_code == 200
    before = {g["id"]: set(g["members"]) for g in first.json()}
    response = course.randomise(
        toUpdate=True, strategy="balanced", numericAttributes=["score"], report=True, seed=2
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["strategy"] == "balanced"
    assert report["quality"]["numeric"][0]["attribute"] == "score"
    assert report["quality"]["violations"] == 0
    formation_id = report["formationID"]
    assert response.headers["X-Formation-ID"] == str(formation_id)
    history = tenant.get(f"/modules/{course.module['id']}/formations").json()
    assert [h["id"] for h in history][:2] == [formation_id, int(first.headers["X-Formation-ID"])]
    assert history[0]["request"]["strategy"] == "balanced"
    assert tenant.post(f"/formations/{formation_id}/revert").status_code == 200
    again = course.randomise(seed=1)
    assert {g["id"]: set(g["members"]) for g in again.json()} == before
    listing = tenant.get(f"/user/Resource/{course.resource_id}/Group/Search").json()["data"]
    stored: dict[str, set[str]] = {}
    for row in listing:
        for group in row["groups"]:
            stored.setdefault(group["id"], set()).add(row["userID"])
    assert stored == before


def test_randomise_constraints_name_users_of_the_pool(tenant: Tenant) -> None:
    course = make_course(tenant, students=6)
    course.add_class_groups("A", "B")
    users = [s["uuid"] for s in course.roster]
    together = course.randomise(keepTogether=[users[:3]], report=True).json()
    group_of = {m: g["id"] for g in together["groups"] for m in g["members"]}
    assert group_of[users[0]] == group_of[users[1]] == group_of[users[2]]
    outsider = "00000000-0000-4000-8000-000000000000"
    refused = course.randomise(keepApart=[[users[0], outsider]])
    assert refused.status_code == 400
    assert outsider in refused.json()


def test_randomise_without_extra_fields_is_unchanged(tenant: Tenant) -> None:
    """The documented call: the same seeded shuffle as before the engine (a seed reproduces it)."""
    course = make_course(tenant, students=10)
    groups = course.add_class_groups("A", "B", "C")
    answer = course.randomise(seed=42).json()
    expected = random_assignment(sorted(course.user_ids()), [Target(key=g["id"]) for g in groups], 42)
    assert {g["id"]: g["members"] for g in answer} == expected.groups


def test_the_report_counts_the_groups_in_the_order_it_answers_them(tenant: Tenant) -> None:
    parent, _ = _parent_with(tenant, 16)
    _ok(_form(tenant, parent["id"], create={"count": 11}, seed=3, save=True))  # 11 sub-groups
    for seed in range(1, 6):  # into the existing groups, which the engine knows by uuid
        answer = _ok(_form(tenant, parent["id"], strategy="balanced", seed=seed))
        assert answer["report"]["sizes"] == [len(g["members"]) for g in answer["groups"]]
        assert sorted(answer["report"]["sizes"]) == [1] * 6 + [2] * 5


@pytest.mark.parametrize("pattern", [" ", "\t", "\n", "\u00a0", "   "])
def test_a_blank_name_pattern_is_a_400_naming_it_never_a_500(tenant: Tenant, pattern: str) -> None:
    parent, _ = _parent_with(tenant, 4)
    response = _form(tenant, parent["id"], create={"count": 2, "name_pattern": pattern})
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["field"] == "create.name_pattern"
    assert error["rule"] in ("blank", "control_character")


def test_randomise_names_what_it_cannot_find_in_luminus_words(tenant: Tenant) -> None:
    """One resolution of the options for both surfaces: on `/user/...` the fields are LumiNUS's."""
    course = make_course(tenant, students=4)
    (a, _) = course.add_class_groups("A", "B")
    users = [s["uuid"] for s in course.roster]
    outsider = "00000000-0000-4000-8000-000000000000"
    refused = course.randomise(
        keepApart=[[users[0], outsider]], pinned=[{"userID": outsider, "groupID": a["id"]}]
    )
    assert refused.status_code == 400
    message = refused.json()
    assert f"keepApart: user {outsider} is not among the members to form" in message
    assert f"pinned.userID: user {outsider}" in message
    assert "keep_apart" not in message
    not_target = course.randomise(pinned=[{"userID": users[0], "groupID": outsider}])
    assert not_target.status_code == 400
    assert f"pinned.groupID: group {outsider} is not one of the groups formed" in not_target.json()


def _scored_parent(tenant: Tenant, count: int, keys: str | None = None) -> dict[str, Any]:
    """A root group of `count` scored students; with `keys`, their user ids (the engine's member
    keys, which its seeded order reads) are the same in every run, named by `keys`."""
    parent = tenant.group(unique("cohort"))
    ids = [
        tenant.student(
            unique("s"),
            student_group_id=parent["id"],
            attributes={"score": float((i * 37) % 101), "gender": "X" if i % 25 == 0 else ("F", "M")[i % 2]},
        )["id"]
        for i in range(count)
    ]
    if keys is not None:
        with transaction(tenant.sessions) as session:
            for i, student_id in enumerate(ids):
                fixed = uuid.uuid5(uuid.NAMESPACE_URL, f"studentgroups-tests/{keys}/{i}")
                session.execute(update(Student).where(Student.id == student_id).values(uuid=fixed))
    return parent


def test_the_objective_chooses_what_balanced_evens_and_protected_values_keep_company(tenant: Tenant) -> None:
    # Which objective evens the means more is a matter of averages; the seeded order reads the
    # members' user ids, so they are fixed, and the comparison is the same in every run.
    parent = _scored_parent(tenant, 100, keys="objective")
    reports = {}
    for objective in ("means", "means_and_spreads", "spreads", 0.5):
        answer = _ok(
            _form(
                tenant,
                parent["id"],
                create={"count": 20},
                strategy="balanced",
                numeric=["score"],
                no_isolation=["gender"],
                protected_values={"gender": ["X"]},
                objective=objective,
                seed=4,
            )
        )
        reports[objective] = answer["report"]["numeric"][0]
        (gender,) = answer["report"]["categorical"]
        assert gender["isolated"] == 0  # the four X members in pairs; an F or M alone is no one's concern
    assert reports["means"]["sd_of_means"] < reports["means_and_spreads"]["sd_of_means"]
    assert reports["means_and_spreads"]["sd_of_sds"] < reports["means"]["sd_of_sds"]
    # The SDs first: always far under `means`'s (whose SDs are random's).
    assert reports["spreads"]["sd_of_sds"] < 0.8 * reports["means"]["sd_of_sds"]


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"objective": "spread"}, "objective", "means"),
        ({"objective": 10.5}, "objective", "10"),
        ({"objective": True}, "objective", ""),
        ({"minority_share": 0}, "minority_share", "0"),
        (
            {"no_isolation": ["gender"], "protected_values": {"sexe": ["X"]}},
            "protected_values",
            "no_isolation",
        ),
        ({"no_isolation": ["gender"], "protected_values": {"gender": "X"}}, "protected_values.gender", ""),
    ],
)
def test_a_bad_objective_or_protection_is_refused_naming_it(
    tenant: Tenant, body: dict[str, Any], field: str, words: str
) -> None:
    parent = _scored_parent(tenant, 10)
    response = _form(
        tenant, parent["id"], create={"count": 2}, strategy="balanced", numeric=["score"], **body
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    named = [e["field"] for e in problem.get("errors", [])]
    assert any(field in f for f in named) or field in problem["detail"], problem
    assert words in response.text
    assert tenant.get(f"/student_groups/{parent['id']}/formations").json() == []


def test_groups_by_section_each_hold_one_section_in_proportion_and_a_crossing_rule_is_refused(
    tenant: Tenant,
) -> None:
    parent = tenant.group(unique("cohort"))
    students = [
        tenant.student(
            unique("s"),
            student_group_id=parent["id"],
            attributes={"section": "A" if i < 12 else "B", "score": i % 7},
        )
        for i in range(18)
    ]
    answer = _ok(
        _form(
            tenant,
            parent["id"],
            create={"count": 3},
            strategy="balanced",
            numeric=["score"],
            sections="section",
            seed=2,
        )
    )
    section = {s["id"]: s["attributes"]["section"] for s in students}
    held = [sorted({section[m] for m in g["members"]}) for g in answer["groups"]]
    assert sorted(held) == [["A"], ["A"], ["B"]]  # 12 and 6 of 18 in 3 groups: 2 and 1
    assert sorted(len(g["members"]) for g in answer["groups"]) == [6, 6, 6]
    crossing = _form(
        tenant,
        parent["id"],
        create={"count": 3},
        sections="section",
        keep_together=[[students[0]["id"], students[-1]["id"]]],
    )
    assert crossing.status_code == 400
    assert "sections A, B" in crossing.json()["errors"][0]["message"]
    too_few = _form(tenant, parent["id"], create={"count": 1}, sections="section")
    assert too_few.status_code == 400
    assert "2 sections need a group each" in too_few.json()["errors"][0]["message"]
