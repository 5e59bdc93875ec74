"""Finding students by id or uid in bulk: chunked `IN` queries, never one query per student."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from studentgroups.students.models import Student
from studentgroups.tenancy import scoped_columns

CHUNK = 5_000
"""Ids or uids looked up per query: an `IN` list every driver accepts."""


def existing_student_ids(session: Session, *, instance_id: int, student_ids: Sequence[int]) -> set[int]:
    """Which of `student_ids` are students of the instance."""
    found: set[int] = set()
    for start in range(0, len(student_ids), CHUNK):
        chunk = list(student_ids[start : start + CHUNK])
        found.update(
            session.scalars(scoped_columns(Student, instance_id, Student.id).where(Student.id.in_(chunk)))
        )
    return found


def student_ids_by_uid(
    session: Session,
    *,
    instance_id: int,
    uids: Sequence[str],
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """uid -> id of the instance's students among `uids` (unknown uids are left out).

    `on_progress(done, total)` is told after each chunk.
    """
    found: dict[str, int] = {}
    for start in range(0, len(uids), CHUNK):
        chunk = list(uids[start : start + CHUNK])
        rows = session.execute(
            scoped_columns(Student, instance_id, Student.uid, Student.id).where(Student.uid.in_(chunk))
        )
        found.update({row.uid: row.id for row in rows})
        if on_progress is not None:
            on_progress(start + len(chunk), len(uids))
    return found
