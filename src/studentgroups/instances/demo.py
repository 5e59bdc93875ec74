"""Demo data: an instance a new user can try the API on at once."""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy.orm import Session

from studentgroups.clusters.service import create_cluster
from studentgroups.groups.service import add_members, create_group
from studentgroups.instances.service import create_instance
from studentgroups.students.models import Student

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


@dataclass(frozen=True, slots=True)
class DemoSummary:
    instance_id: int
    api_key: str
    clusters: int
    groups: int
    students: int


def create_demo(session: Session, *, seed: int = 2014) -> DemoSummary:
    """A new instance named "Demo", filled with clusters, groups and students, and its admin key."""
    rng = random.Random(seed)
    instance, issued = create_instance(session, name="Demo")
    group_count = student_count = 0
    for cluster_name, group_names in _CLUSTERS.items():
        cluster = create_cluster(session, instance_id=instance.id, name=cluster_name)
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
    return DemoSummary(
        instance_id=instance.id,
        api_key=issued.secret,
        clusters=len(_CLUSTERS),
        groups=group_count,
        students=student_count,
    )
