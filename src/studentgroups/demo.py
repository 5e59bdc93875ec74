"""Demo data: an instance a new user can try the API on at once, and the bulk seeding of a big
course that the benchmarks and the fault tests share (`course_with_class_groups`)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from studentgroups.clusters.service import create_cluster
from studentgroups.db import utcnow
from studentgroups.groups.service import add_members, create_group
from studentgroups.instances.service import create_instance
from studentgroups.modules.service import ModuleView, create_module
from studentgroups.results.schemas import ResultIn
from studentgroups.results.service import record_results
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group
from studentgroups.tables.students import Student

_CLUSTERS = {
    "Financial services academy": [
        "2nd year associates financial services",
        "Senior associates financial services",
    ],
    "Engineering school": ["Tutorial group T1", "Tutorial group T2", "Lab group L1"],
}
_FIRST = [
    "Ada",
    "Ben",
    "Chloé",
    "Dmitri",
    "Elif",
    "Farah",
    "Gus",
    "Hana",
    "Ines",
    "Jun",
    "Kofi",
    "Lena",
]
_LAST = ["Martin", "Nguyen", "Okafor", "Petit", "Quinn", "Rossi", "Sato", "Tan", "Ueda", "Vidal"]
_MAJORS = ["finance", "economics", "computing", "mechanical"]
STUDENTS_PER_GROUP = 8
_ITEMS = [("kn-compound-interest", 1), ("kn-risk", 1), ("quiz-1", 10), ("midterm", 20)]
_TERM_START = datetime(2026, 9, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DemoSummary:
    instance_id: int
    api_key: str
    clusters: int
    groups: int
    students: int
    results: int
    cluster_ids: list[int]


def create_demo(session: Session, *, seed: int = 2014) -> DemoSummary:
    """A new instance named "Demo", filled with clusters, groups, students and their results, and
    its admin key."""
    rng = random.Random(seed)
    instance, issued = create_instance(session, name="Demo")
    group_count = student_count = 0
    results: list[ResultIn] = []
    cluster_ids: list[int] = []
    for cluster_name, group_names in _CLUSTERS.items():
        cluster = create_cluster(session, instance_id=instance.id, name=cluster_name)
        cluster_ids.append(cluster.id)
        for group_name in group_names:
            group = create_group(
                session,
                instance_id=instance.id,
                name=group_name,
                student_cluster_id=cluster.id,
                creator_id=issued.user.id,
            )
            group_count += 1
            members = []
            for _ in range(STUDENTS_PER_GROUP):
                student_count += 1
                student = Student(
                    instance_id=instance.id,
                    uid=f"demo-{student_count:04d}",
                    name=f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                    sexe=rng.choice(["male", "female", "undefined"]),
                    country_of_residence="France",
                    city_of_residence=rng.choice(["Paris", "Lyon", "Nantes"]),
                    attributes={
                        "score": round(rng.uniform(0.3, 1.0), 2),
                        "major": rng.choice(_MAJORS),
                    },
                )
                session.add(student)
                members.append(student)
            session.flush()
            add_members(
                session,
                instance_id=instance.id,
                group_id=group.id,
                student_ids=[s.id for s in members],
            )
            results += [
                ResultIn(
                    student_id=s.id,
                    item=item,
                    score=rng.randint(0, max_score),
                    max_score=max_score,
                    recorded_at=_TERM_START + timedelta(days=rng.randrange(60)),
                )
                for s in members
                for item, max_score in _ITEMS
            ]
    record_results(session, instance_id=instance.id, results=results)
    return DemoSummary(
        instance_id=instance.id,
        api_key=issued.secret,
        clusters=len(_CLUSTERS),
        groups=group_count,
        students=student_count,
        results=len(results),
        cluster_ids=cluster_ids,
    )


@dataclass(frozen=True, slots=True)
class SeededCourse:
    """A new instance with a module and a parent class group with class groups under it."""

    instance_id: int
    api_key: str
    creator_id: int
    module: ModuleView
    parent: Group


def course_with_class_groups(
    session: Session, *, instance_name: str, code: str, name: str, groups: int
) -> SeededCourse:
    """A new instance, its module `code`, and under a parent class group "All tutorials" `groups`
    class groups (T0000, T0001, ...), made in one INSERT: the benchmarks' and fault tests' course,
    their roster left to them."""
    instance, issued = create_instance(session, name=instance_name)
    view = create_module(
        session, instance_id=instance.id, code=code, name=name, description=None, creator_id=issued.user.id
    )
    parent = Group(
        instance_id=instance.id,
        module_id=view.module.id,
        name="All tutorials",
        group_type=GroupType.CLASS_GROUP,
        creator_id=issued.user.id,
    )
    session.add(parent)
    session.flush()
    now = utcnow()
    session.execute(
        insert(Group),
        [
            {
                "instance_id": instance.id,
                "module_id": view.module.id,
                "parent_group_id": parent.id,
                "name": f"T{i:04d}",
                "group_type": GroupType.CLASS_GROUP,
                "creator_id": issued.user.id,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(groups)
        ],
    )
    return SeededCourse(instance.id, issued.secret, issued.user.id, view, parent)
