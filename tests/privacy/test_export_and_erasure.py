"""Data-subject requests: everything held about a student in one document, and their erasure.

Erasure removes the student's record, results, memberships, queue places and learner's keys in
one transaction; the formation history and the audit log keep only a pseudonym for them, and
undoing a later formation still restores everyone else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from studentgroups.privacy import erasure
from studentgroups.tables.instances import Role
from tests.factories import Tenant, unique
from tests.luminus.conftest import Course, make_course
from tests.test_cli import run


@dataclass
class Story:
    """A learner with a bit of everything: a roster place, groups, results, a queue place, a
    learner's key, formations and audit events that name them, and a classmate beside them."""

    tenant: Tenant
    course: Course
    me: dict[str, Any]
    mate: dict[str, Any]
    third: dict[str, Any]
    key: str
    parent: dict[str, Any]  # an instance's own group, with the three of us
    sub_ids: list[int]  # its sub-groups, made by the first formation
    first_after: dict[int, set[int]]  # their members as the first formation left them
    partner: dict[str, Any]  # whom the later formation keeps together with me
    later_formation: int  # the second formation, over those sub-groups, naming me in keep_together
    full_group: dict[str, Any]  # a self-enrol group the mate holds, whose queue I am in


def _ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def story(tenant: Tenant) -> Story:
    course = make_course(tenant, students=3)
    me, mate, third = course.roster
    tenant.put(f"/students/{me['id']}", json={"name": "Ada Lovelace", "date_of_birth": "2008-12-10"})
    key = _ok(tenant.post("/api_keys", json={"role": "staff", "student_uid": me["uid"]}))["api_key"]
    parent = tenant.group(unique("cohort"))
    for student in (me, mate, third):
        _ok(tenant.put(f"/student_groups/{parent['id']}/students/{student['id']}"))
    first = _ok(
        tenant.post(
            f"/student_groups/{parent['id']}/formations",
            json={"create": {"count": 2}, "save": True, "seed": 1},
        )
    )
    sub_ids = [g["id"] for g in first["groups"]]
    first_after = _placement(tenant, sub_ids)
    # The later formation keeps me with whoever the first put apart from me: it moves someone.
    (mine,) = [members for members in first_after.values() if me["id"] in members]
    partner = mate if mate["id"] not in mine else third
    later = _ok(
        tenant.post(
            f"/student_groups/{parent['id']}/formations",
            json={"keep_together": [[me["id"], partner["id"]]], "save": True, "seed": 7},
        )
    )
    assert _placement(tenant, sub_ids) != first_after
    for item, score in (("quiz-1", 1), ("quiz-2", 0)):
        _ok(tenant.post("/results", json={"uid": me["uid"], "item": item, "score": score}))
    _ok(tenant.post("/results", json={"uid": mate["uid"], "item": "quiz-1", "score": 1}))
    (full,) = course.add_class_groups(unique("full"), selfEnrol=True, maxUser=1, waitlist=True)
    _ok(tenant.post(f"/user/Groups/{full['id']}/SelfEnrol", json={"userID": mate["uuid"]}))
    queued = _ok(tenant.post(f"/user/Groups/{full['id']}/SelfEnrol", key=key, json={"queue": True}))
    assert queued["status"] == "queued"
    _ok(tenant.put(f"/students/{mate['id']}", json={"city_of_residence": "Paris"}))
    return Story(
        tenant,
        course,
        me,
        mate,
        third,
        key,
        parent,
        sub_ids,
        first_after,
        partner,
        later["formation_id"],
        full,
    )


def _events(tenant: Tenant) -> list[dict[str, Any]]:
    return list(_ok(tenant.get("/audit_events")))


def _placement(tenant: Tenant, group_ids: list[int]) -> dict[int, set[int]]:
    return {g: {s["id"] for s in _ok(tenant.get(f"/student_groups/{g}/students"))} for g in group_ids}


def test_an_export_holds_everything_about_the_student_and_nothing_about_others(story: Story) -> None:
    tenant, me = story.tenant, story.me
    exported = _ok(tenant.get(f"/students/{me['id']}/export"))
    assert exported["student"]["name"] == "Ada Lovelace"
    assert exported["student"]["date_of_birth"] == "2008-12-10"
    groups = {m["group_id"] for m in exported["memberships"]}
    assert {story.course.module["roster_group_id"], story.parent["id"]} <= groups
    assert len(groups & set(story.sub_ids)) == 1
    assert sorted((r["item"], r["score"]) for r in exported["results"]) == [("quiz-1", 1.0), ("quiz-2", 0.0)]
    assert [(q["name"], q["position"]) for q in exported["waiting_lists"]] == [
        (story.full_group["groupName"], 1)
    ]
    assert [k["user"] for k in exported["keys"]] == [f"learner:{me['id']}"]
    formations = {f["formation_id"]: f for f in exported["formations"]}
    assert len(formations) == 2
    assert formations[story.later_formation]["named_in_request"] is True
    assert all(f["groups_after"] for f in formations.values())
    paths = [e["path"] for e in exported["audit_events"]]
    assert f"/students/{me['id']}" in paths  # the admin changed my profile
    assert any(e["actor"] == f"learner:{me['id']}" for e in exported["audit_events"])  # I queued
    assert f"/students/{story.mate['id']}" not in paths
    assert json.dumps(exported).count(story.mate["uid"]) == 0


def test_an_export_is_for_admins_and_is_itself_in_the_audit_log(story: Story) -> None:
    tenant, me = story.tenant, story.me
    manager = tenant.new_key(Role.STAFF, user=unique("teacher"))
    for key in (manager, story.key):
        assert tenant.get(f"/students/{me['id']}/export", key=key).status_code == 403
    before = len(_events(tenant))
    _ok(tenant.get(f"/students/{me['id']}/export"))
    events = _events(tenant)
    assert len(events) == before + 1
    assert (events[0]["method"], events[0]["operation"], events[0]["path"]) == (
        "GET",
        "export_student",
        f"/students/{me['id']}/export",
    )
    assert tenant.get(f"/students/{me['id'] + 100_000}/export").status_code == 404
    assert len(_events(tenant)) == before + 1  # a refused export leaves no event


def test_the_cli_exports_a_student_and_records_it(story: Story, database_url: str) -> None:
    done = run(
        database_url, "student", "export", story.me["uid"], "--instance", str(story.tenant.instance_id)
    )
    assert done.returncode == 0, done.stderr
    exported = json.loads(done.stdout)
    assert exported["student"]["uid"] == story.me["uid"]
    assert len(exported["results"]) == 2
    assert _events(story.tenant)[0]["operation"] == "student_export"
    unknown = run(database_url, "student", "export", "nobody", "--instance", str(story.tenant.instance_id))
    assert unknown.returncode == 1
    assert "nobody" in unknown.stderr


def test_erasure_removes_the_student_and_leaves_only_a_pseudonym(story: Story, database_url: str) -> None:
    tenant, me = story.tenant, story.me
    run(database_url, "student", "export", me["uid"], "--instance", str(tenant.instance_id))  # a CLI event
    erased = tenant.delete(f"/students/{me['id']}", params={"erase": "true"})
    assert erased.status_code == 200, erased.text
    pseudonym = erased.headers["X-Erasure-Pseudonym"]
    assert pseudonym.startswith("erased-")
    assert tenant.get(f"/students/{me['id']}").status_code == 404
    assert tenant.get("/results", params={"student_id": me["id"]}).json() == []
    assert tenant.get("/students", key=story.key).status_code == 401
    assert all(k["student_id"] != me["id"] for k in _ok(tenant.get("/api_keys")))
    offers = _ok(
        tenant.get(
            f"/user/Resource/{story.course.resource_id}/Group/SelfEnrol",
            params={"userID": story.mate["uuid"]},
        )
    )["data"]
    assert next(g for g in offers if g["id"] == story.full_group["id"])["waitingCount"] == 0

    events = _events(tenant)
    text = json.dumps(events)
    for trace in (f"/students/{me['id']}", me["uid"], me["uuid"], f"learner:{me['id']}"):
        assert trace not in text, trace
    assert f"/students/{pseudonym}?erase=true" == events[0]["path"]
    assert any(e["actor"] == pseudonym for e in events)  # the queueing, made with my own key
    assert any(pseudonym in e["path"] and e["method"] == "CLI" for e in events)
    assert f"/students/{story.mate['id']}" in text  # nobody else's events changed

    later = _ok(tenant.get(f"/formations/{story.later_formation}"))
    assert later["request"]["keep_together"] == [[pseudonym, story.partner["id"]]]


def test_undoing_a_formation_after_an_erasure_restores_everyone_else(story: Story) -> None:
    tenant, me = story.tenant, story.me
    assert tenant.delete(f"/students/{me['id']}", params={"erase": "true"}).status_code == 200
    undone = tenant.post(f"/formations/{story.later_formation}/revert")
    assert undone.status_code == 200, undone.text
    expected = {g: members - {me["id"]} for g, members in story.first_after.items()}
    assert _placement(tenant, story.sub_ids) == expected
    assert set().union(*expected.values()) == {story.mate["id"], story.third["id"]}


def test_erasure_is_for_admin_keys_only_and_a_refusal_changes_nothing(story: Story) -> None:
    tenant, me = story.tenant, story.me
    manager_user = unique("manager")
    tenant.post(f"/modules/{story.course.module['id']}/staff", json={"users": [manager_user]})
    manager = tenant.new_key(Role.STAFF, user=manager_user)
    before = _ok(tenant.get(f"/students/{me['id']}/export"))
    for key in (manager, story.key, tenant.new_key(Role.READ_ONLY, user=unique("reader"))):
        refused = tenant.delete(f"/students/{me['id']}", key=key, params={"erase": "true"})
        assert refused.status_code == 403, refused.text
    after = _ok(tenant.get(f"/students/{me['id']}/export"))
    assert {k: v for k, v in after.items() if k not in ("exported_at", "audit_events")} == {
        k: v for k, v in before.items() if k not in ("exported_at", "audit_events")
    }
    assert after["audit_events"] == before["audit_events"] + [after["audit_events"][-1]]  # the export


def test_a_failure_in_the_middle_of_an_erasure_leaves_everything_as_it_was(
    story: Story, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant, me = story.tenant, story.me
    events = _events(tenant)
    formation = _ok(tenant.get(f"/formations/{story.later_formation}"))

    def broken(*_args: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(erasure, "_forget_unplaced", broken)
    failed = tenant.delete(f"/students/{me['id']}", params={"erase": "true"})
    assert failed.status_code == 500
    assert _ok(tenant.get(f"/students/{me['id']}"))["uid"] == me["uid"]
    assert _events(tenant) == events
    assert _ok(tenant.get(f"/formations/{story.later_formation}")) == formation
    assert tenant.get("/students", key=story.key).status_code == 200
