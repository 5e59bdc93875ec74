"""GET /student_groups/{id}/results and /student_clusters/{id}/results: figures equal to the plain
computation in Python (`tests/results/reference.py`) over the members' results."""

from __future__ import annotations

import random
from typing import Any

from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import make_course
from tests.results.reference import Scored, assert_figures_equal, figures

ITEMS = ("kn-algebra", "kn-geometry", "quiz-1")


def _results_for(
    tenant: Tenant, students: list[dict[str, Any]], seed: int, per_student: int = 6
) -> list[Scored]:
    """Random results for the students, stored through the API; what was stored."""
    rng = random.Random(seed)
    rows: list[Scored] = []
    for student in students:
        for _ in range(rng.randint(0, per_student)):
            max_score = rng.choice([1, 1, 4, 20])
            rows.append(Scored(student["id"], rng.choice(ITEMS), rng.randint(0, max_score), max_score))
    if rows:
        body = [
            {
                "student_id": r.student,
                "item": r.item,
                "score": r.score,
                "max_score": r.max_score,
                "recorded_at": f"2026-0{1 + i % 3}-15 12:00:00",
            }
            for i, r in enumerate(rows)
        ]
        assert tenant.post("/results", json=body).status_code == 200
    return rows


def _group_with(tenant: Tenant, count: int, **fields: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    group = tenant.group(unique("group"), **fields)
    students = [tenant.student(unique("s"), student_group_id=group["id"]) for _ in range(count)]
    return group, students


def _get(tenant: Tenant, path: str, **params: Any) -> dict[str, Any]:
    response = tenant.get(path, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_groups_figures_are_its_members_results_summed_up(tenant: Tenant) -> None:
    group, members = _group_with(tenant, 12)
    outsiders = [tenant.student(unique("out")) for _ in range(3)]
    stored = _results_for(tenant, members, seed=1)
    _results_for(tenant, outsiders, seed=2)
    answer = _get(tenant, f"/student_groups/{group['id']}/results")
    assert (answer["student_group_id"], answer["name"], answer["threshold"]) == (
        group["id"],
        group["name"],
        0.5,
    )
    assert_figures_equal(answer, figures(stored, member_count=12))
    assert sum(answer["histogram"]) == answer["members_with_results"]


def test_items_time_and_threshold_filter_the_figures(tenant: Tenant) -> None:
    group, members = _group_with(tenant, 10)
    stored = _results_for(tenant, members, seed=3)
    in_window = [r for i, r in enumerate(stored) if i % 3 == 1]  # recorded in February
    answer = _get(
        tenant,
        f"/student_groups/{group['id']}/results",
        item=["kn-algebra", "quiz-1"],
        **{"from": "2026-02-01 00:00:00", "to": "2026-03-01 00:00:00"},
        threshold=0.75,
    )
    chosen = [r for r in in_window if r.item in {"kn-algebra", "quiz-1"}]
    assert_figures_equal(answer, figures(chosen, member_count=10, threshold=0.75))


def test_a_group_without_results_has_counts_and_no_scores(tenant: Tenant) -> None:
    group, _ = _group_with(tenant, 3)
    answer = _get(tenant, f"/student_groups/{group['id']}/results")
    assert (answer["member_count"], answer["members_with_results"], answer["result_count"]) == (3, 0, 0)
    assert answer["mean_score"] is None
    assert answer["median_score"] is None
    assert answer["histogram"] == [0] * 10
    assert answer["items"] == []


def test_a_member_scoring_exactly_on_a_bin_edge_is_in_the_upper_bin(tenant: Tenant) -> None:
    group, members = _group_with(tenant, 3)
    body = [
        {"student_id": members[0]["id"], "item": "q", "score": 3, "max_score": 10},
        {"student_id": members[1]["id"], "item": "q", "score": 1},
        {"student_id": members[2]["id"], "item": "q", "score": 0.1},
        {"student_id": members[2]["id"], "item": "r", "score": 0.2},
    ]
    tenant.post("/results", json=body)
    histogram = _get(tenant, f"/student_groups/{group['id']}/results")["histogram"]
    assert histogram == [0, 1, 0, 1, 0, 0, 0, 0, 0, 1]


def test_sub_groups_count_when_asked(tenant: Tenant) -> None:
    course = make_course(tenant, students=9)
    (lecture,) = course.add_class_groups(unique("Lecture"))
    teams = course.add_class_groups(unique("Team A"), unique("Team B"), parent=lecture["id"])
    users = sorted(course.roster, key=lambda s: s["id"])
    placed = tenant.put(
        "/user/Groups/Users",
        json={
            "iDs_UserGuids": [
                {"key": teams[0]["id"], "value": [s["uuid"] for s in users[:4]]},
                {"key": teams[1]["id"], "value": [s["uuid"] for s in users[4:7]]},
            ]
        },
    )
    assert placed.status_code == 200, placed.text
    stored = _results_for(tenant, users, seed=4)
    lecture_id = next(
        g["id"] for g in tenant.get("/student_groups").json() if g["name"] == lecture["groupName"]
    )
    alone = _get(tenant, f"/student_groups/{lecture_id}/results")
    assert (alone["member_count"], alone["result_count"]) == (0, 0)
    together = _get(tenant, f"/student_groups/{lecture_id}/results", include_subgroups="true")
    in_teams = {s["id"] for s in users[:7]}
    assert together["include_subgroups"] is True
    assert_figures_equal(together, figures([r for r in stored if r.student in in_teams], member_count=7))


def test_a_cluster_compares_its_groups_and_sums_up_the_whole(tenant: Tenant) -> None:
    cluster = tenant.cluster(unique("cohort"))
    groups = [_group_with(tenant, n, student_cluster_id=cluster["id"]) for n in (4, 6, 5)]
    other_group, other_members = _group_with(tenant, 3)
    stored = {g["id"]: _results_for(tenant, members, seed=g["id"]) for g, members in groups}
    _results_for(tenant, other_members, seed=99)
    answer = _get(tenant, f"/student_clusters/{cluster['id']}/results")
    assert (answer["student_cluster_id"], answer["name"]) == (cluster["id"], cluster["name"])
    assert [g["student_group_id"] for g in answer["groups"]] == [g["id"] for g, _ in groups]
    for (group, members), compared in zip(groups, answer["groups"], strict=True):
        assert compared["name"] == group["name"]
        assert_figures_equal(compared, figures(stored[group["id"]], member_count=len(members)))
    everyone = [r for rows in stored.values() for r in rows]
    assert_figures_equal(answer["whole"], figures(everyone, member_count=15))
    assert other_group["id"] not in [g["student_group_id"] for g in answer["groups"]]


def test_an_empty_cluster_has_no_groups_and_an_empty_whole(tenant: Tenant) -> None:
    cluster = tenant.cluster(unique("empty"))
    answer = _get(tenant, f"/student_clusters/{cluster['id']}/results")
    assert answer["groups"] == []
    assert (answer["whole"]["member_count"], answer["whole"]["result_count"]) == (0, 0)


def test_figures_need_the_right_to_see_the_group(tenant: Tenant) -> None:
    course = make_course(tenant, students=2)
    (hidden,) = course.add_class_groups(unique("hidden"), groupAccess=0)
    hidden_id = next(
        g["id"] for g in tenant.get("/student_groups").json() if g["name"] == hidden["groupName"]
    )
    bystander = tenant.new_key(Role.STAFF, user=unique("bystander"))
    assert tenant.get(f"/student_groups/{hidden_id}/results", key=bystander).status_code == 403
    cluster = tenant.cluster(unique("mixed"))
    tenant.put(f"/student_groups/{hidden_id}", json={"student_cluster_id": cluster["id"]})
    visible, _ = _group_with(tenant, 1, student_cluster_id=cluster["id"])
    seen = tenant.get(f"/student_clusters/{cluster['id']}/results", key=bystander).json()
    assert [g["student_group_id"] for g in seen["groups"]] == [visible["id"]]


def test_bad_filters_are_400(tenant: Tenant) -> None:
    group, _ = _group_with(tenant, 1)
    path = f"/student_groups/{group['id']}/results"
    for params in ({"threshold": 1.5}, {"from": "not a time"}, {"from": "2026-02-01", "to": "2026-01-01"}):
        response = tenant.get(path, params=params)
        assert response.status_code == 400, (params, response.text)


def test_a_group_the_caller_cannot_find_is_a_404_before_its_filters_are_read(
    tenant: Tenant, make_tenant: Any
) -> None:
    backwards = {"from": "2026-02-01", "to": "2026-01-01"}  # a 400 on a group the caller has
    other = make_tenant().post("/student_groups", json={"name": "theirs"}).json()["id"]
    assert tenant.get(f"/student_groups/{other}/results", params=backwards).status_code == 404
    mine = tenant.post("/student_groups", json={"name": "mine"}).json()["id"]
    assert tenant.get(f"/student_groups/{mine}/results", params=backwards).status_code == 400
