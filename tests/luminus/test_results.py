"""The figures of class groups on the LumiNUS surface: one group, and the groups under a parent."""

from __future__ import annotations

import random
import re
from typing import Any

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import GROUP_MODEL, Course, make_course
from tests.results.reference import Scored, assert_figures_equal, figures

UNKNOWN = "00000000-0000-4000-8000-000000000000"


def _snake(answer: dict[str, Any]) -> dict[str, Any]:
    """camelCase figures as the reference names them (p25Score -> p25_score)."""

    def name(key: str) -> str:
        return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "_" + m.group(1).lower(), key)

    out = {name(k): v for k, v in answer.items()}
    out["items"] = [{name(k): v for k, v in item.items()} for item in answer.get("items", [])]
    return out


def _store_results(course: Course, seed: int) -> list[Scored]:
    rng = random.Random(seed)
    rows = [
        Scored(s["id"], rng.choice(["quiz", "exam"]), rng.randint(0, 10), 10)
        for s in course.roster
        for _ in range(rng.randint(0, 4))
    ]
    body = [{"student_id": r.student, "item": r.item, "score": r.score, "max_score": 10} for r in rows]
    assert course.tenant.post("/results", json=body).status_code == 200
    return rows


def _members(groups: list[dict[str, Any]], course: Course) -> dict[str, set[int]]:
    id_of = {s["uuid"]: s["id"] for s in course.roster}
    return {g["id"]: {id_of[m] for m in g["members"]} for g in groups}


def test_a_class_groups_figures_in_camel_case(tenant: Tenant) -> None:
    course = make_course(tenant, students=20)
    course.add_class_groups("A", "B")
    saved = course.randomise(toUpdate=True, seed=5).json()
    stored = _store_results(course, seed=1)
    group = saved[0]
    response = tenant.get(f"/user/Groups/{group['id']}/Results", params={"threshold": 0.6})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert set(answer) >= GROUP_MODEL
    assert (answer["id"], answer["groupName"], answer["resourceID"]) == (group["id"], "A", course.resource_id)
    members = _members(saved, course)[group["id"]]
    expected = figures([r for r in stored if r.student in members], len(members), threshold=0.6)
    assert_figures_equal(_snake(answer), expected)


def test_the_groups_randomise_made_compared_side_by_side(tenant: Tenant) -> None:
    course = make_course(tenant, students=30)
    (lecture,) = course.add_class_groups("Lecture")
    course.add_class_groups("T1", "T2", "T3", parent=lecture["id"])
    saved = course.randomise(parentGroupID=lecture["id"], toUpdate=True, seed=9).json()
    stored = _store_results(course, seed=2)
    response = tenant.get(
        f"/user/Resource/{course.resource_id}/Group/Results",
        params={"parentGroupID": lecture["id"], "item": "quiz"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["resourceID"], answer["parentGroupID"]) == (course.resource_id, lecture["id"])
    assert [g["groupName"] for g in answer["groups"]] == ["T1", "T2", "T3"]
    quiz = [r for r in stored if r.item == "quiz"]
    for compared, (group_id, members) in zip(answer["groups"], _members(saved, course).items(), strict=True):
        assert compared["id"] == group_id
        assert compared["parentGroupID"] == lecture["id"]
        assert_figures_equal(
            _snake(compared), figures([r for r in quiz if r.student in members], len(members))
        )
    assert_figures_equal(_snake(answer["whole"]), figures(quiz, member_count=30))


def test_the_root_class_groups_are_compared_when_no_parent_is_given(tenant: Tenant) -> None:
    course = make_course(tenant, students=4)
    course.add_class_groups("R1", "R2")
    answer = tenant.get(
        f"/user/Resource/{course.resource_id}/Group/Results", params={"parentGroupID": ""}
    ).json()
    assert answer["parentGroupID"] is None
    assert [g["groupName"] for g in answer["groups"]] == ["R1", "R2"]


def test_results_of_a_group_the_caller_may_not_see_are_403(tenant: Tenant) -> None:
    course = make_course(tenant, students=2)
    (hidden,) = course.add_class_groups(unique("hidden"), groupAccess=0)
    (shown,) = course.add_class_groups(unique("shown"), groupAccess=2)
    bystander = tenant.new_key(Role.STAFF, user=unique("bystander"))
    refused = tenant.get(f"/user/Groups/{hidden['id']}/Results", key=bystander)
    assert refused.status_code == 403
    assert isinstance(refused.json(), str)
    compared = tenant.get(f"/user/Resource/{course.resource_id}/Group/Results", key=bystander).json()
    assert [g["id"] for g in compared["groups"]] == [shown["id"]]


def test_unknown_or_foreign_groups_and_bad_filters_are_strings(tenant: Tenant, make_tenant: Any) -> None:
    course = make_course(tenant, students=1)
    (group,) = course.add_class_groups("G")
    assert tenant.get(f"/user/Groups/{UNKNOWN}/Results").status_code == 404
    intruder = make_tenant()
    foreign = intruder.get(f"/user/Groups/{group['id']}/Results")
    assert foreign.status_code == 404
    assert isinstance(foreign.json(), str)
    assert intruder.get(f"/user/Resource/{course.resource_id}/Group/Results").status_code == 404
    bad = tenant.get(f"/user/Groups/{group['id']}/Results", params={"threshold": 2})
    assert bad.status_code == 400
    assert "threshold" in bad.json()
