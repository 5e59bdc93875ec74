"""A module of 100,000 students with 1,000 class groups under one parent, seeded in bulk (seconds),
and what the tests read back of it: through the API, and from the database where the API is silent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from studentgroups.db import create_db_engine, create_session_factory, transaction, utcnow
from studentgroups.demo import course_with_class_groups
from studentgroups.groups.service import write_memberships
from studentgroups.listing import uuid_text
from studentgroups.settings import Settings
from studentgroups.siblings import module_root_scope, parent_scope
from studentgroups.tables.formations import SavedFormation, pack_pairs
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.students import Student

Grouping = dict[str, frozenset[str]]
"""Each class group's id (uuid) to its members' user ids (uuids)."""

SEARCH_SAMPLE = 1_000
"""How many students' groups the tests read back through the API's Search (one page)."""


@dataclass(frozen=True)
class BigCourse:
    """What the tests need to know of the seeded module."""

    key: str
    instance_id: int
    module_id: int
    resource: str
    parent: str
    parent_id: int
    roster_group_id: int
    student_ids: list[int]

    def headers(self) -> dict[str, str]:
        return {"X-API-Key": self.key}

    def randomise(self, seed: int, *, save: bool) -> dict[str, Any]:
        """The body of a Randomise of every student into the class groups under the parent."""
        return {"resourceID": self.resource, "parentGroupID": self.parent, "toUpdate": save, "seed": seed}


def seed_big_course(database_url: str, *, students: int, groups: int) -> BigCourse:
    """An instance, a module whose roster holds `students` new students, and `groups` class groups
    under one parent class group. Students by one INSERT … SELECT, the roster by COPY."""
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        with transaction(create_session_factory(engine)) as session:
            seeded = course_with_class_groups(
                session, instance_name="faults", code="BIG100K", name="A course of 100,000", groups=groups
            )
            now = utcnow()
            student_ids = list(
                session.scalars(
                    text(
                        "INSERT INTO students (uuid, instance_id, uid, attributes, created_at, updated_at) "
                        "SELECT gen_random_uuid(), :instance, 'learner-' || n, '{}'::jsonb, :now, :now "
                        "FROM generate_series(1, :count) AS n RETURNING id"
                    ),
                    {"instance": seeded.instance_id, "now": now.replace(tzinfo=None), "count": students},
                )
            )
            write_memberships(
                session,
                [(seeded.module.roster_group_id, s) for s in student_ids],
                instance_id=seeded.instance_id,
                scope=module_root_scope(seeded.module.module.id, GroupType.STUDENT_ROSTER),
                exclusive=True,
            )
            course = BigCourse(
                key=seeded.api_key,
                instance_id=seeded.instance_id,
                module_id=seeded.module.module.id,
                resource=str(seeded.module.module.uuid),
                parent=str(seeded.parent.uuid),
                parent_id=seeded.parent.id,
                roster_group_id=seeded.module.roster_group_id,
                student_ids=sorted(student_ids),
            )
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")  # as autovacuum soon would: plans as in production
            conn.commit()
    finally:
        engine.dispose()
    return course


def grouping_of(answer: list[dict[str, Any]]) -> Grouping:
    """The grouping a Randomise answered."""
    return {g["id"]: frozenset(g["members"]) for g in answer}


def stored_grouping(conn: Connection, course: BigCourse) -> Grouping:
    """The class groups under the parent with their members, as stored.

    Read from the database: the API's Search answers 10,000 students at a time, at about a
    second a page here, and ten pages twice per test would be most of its time.
    """
    targets = conn.execute(
        select(uuid_text(Group.uuid)).where(Group.parent_group_id == course.parent_id)
    ).scalars()
    members: dict[str, set[str]] = {g: set() for g in targets}
    rows = conn.execute(
        select(uuid_text(Group.uuid), uuid_text(Student.uuid))
        .select_from(Membership)
        .join(Group, Group.id == Membership.group_id)
        .join(Student, Student.id == Membership.student_id)
        .where(
            Membership.instance_id == course.instance_id,
            Membership.sibling_scope == parent_scope(course.parent_id),
        )
    )
    for group, student in rows:
        members[group].add(student)
    return {g: frozenset(m) for g, m in members.items()}


def searched_grouping(client: httpx.Client, course: BigCourse, limit: int) -> dict[str, set[str]]:
    """Each of the first `limit` students' (by uid) groups under the parent, by the API's Search."""
    search = client.get(
        f"/user/Resource/{course.resource}/Group/Search",
        params={"parentGroupID": course.parent, "limit": limit},
    )
    assert search.status_code == 200, search.text[:300]
    return {row["userID"]: {g["id"] for g in row["groups"]} for row in search.json()["data"]}


def assert_the_api_agrees(client: httpx.Client, course: BigCourse, stored: Grouping) -> None:
    """The API's Search shows a page of students in the groups the database holds them in."""
    group_of = {student: group for group, members in stored.items() for student in members}
    searched = searched_grouping(client, course, SEARCH_SAMPLE)
    assert len(searched) == SEARCH_SAMPLE
    assert searched == {student: {group_of[student]} for student in searched}


def roster_size(client: httpx.Client, course: BigCourse) -> int:
    """How many students the module's roster holds, by the API's count."""
    answer = client.get(f"/modules/{course.module_id}/roster", params={"limit": 1})
    assert answer.status_code == 200, answer.text[:300]
    return int(answer.headers["X-Total-Count"])


def saved_formations(client: httpx.Client, course: BigCourse) -> list[dict[str, Any]]:
    """The module's history of saves, newest first, through the API."""
    answer = client.get(f"/modules/{course.module_id}/formations")
    assert answer.status_code == 200, answer.text[:300]
    saves: list[dict[str, Any]] = answer.json()
    return saves


def assert_one_group_each(grouping: Grouping, course: BigCourse) -> None:
    """Every student of the module is in exactly one of the class groups."""
    counts = Counter(m for members in grouping.values() for m in members)
    assert len(counts) == len(course.student_ids), "a student is in none of the groups"
    assert set(counts.values()) == {1}, "a student is in two of the groups"


def memberships_outside_the_grouping(conn: Connection, course: BigCourse) -> dict[int, int]:
    """Members per group of the module other than the class groups under the parent (the roster,
    the guest group, the parent itself), from the database."""
    rows = conn.execute(
        select(Group.id, func.count(Membership.student_id))
        .select_from(Group)
        .outerjoin(Membership, Membership.group_id == Group.id)
        .where(
            Group.module_id == course.module_id,
            (Group.parent_group_id.is_(None)) | (Group.parent_group_id != course.parent_id),
        )
        .group_by(Group.id)
    ).all()
    return {group_id: count for group_id, count in rows}


def history_matches_memberships(conn: Connection, course: BigCourse) -> bool:
    """The newest save's after-state is the memberships under the parent, exactly."""
    after = conn.execute(
        select(SavedFormation.after)
        .where(
            SavedFormation.instance_id == course.instance_id,
            SavedFormation.parent_group_id == course.parent_id,
        )
        .order_by(SavedFormation.id.desc())
        .limit(1)
    ).scalar_one()
    pairs = conn.execute(
        select(Membership.group_id, Membership.student_id).where(
            Membership.instance_id == course.instance_id,
            Membership.sibling_scope == parent_scope(course.parent_id),
        )
    ).all()
    return bytes(after) == pack_pairs((g, s) for g, s in pairs)
