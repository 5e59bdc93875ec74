"""Finding students by id or uid in bulk: chunked `IN` queries, never one query per student."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, any_, bindparam, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from studentgroups.errors import FieldError, NotFound
from studentgroups.tables.groups import Group
from studentgroups.tables.students import Student
from studentgroups.tenancy import scoped, scoped_columns

CHUNK = 5_000
"""Ids or uids looked up per query on SQLite: an `IN` list every driver accepts."""
ARRAY_CHUNK = 100_000
"""On PostgreSQL the values travel as one array parameter: one query for a whole batch."""


def chunk_size(session: Session) -> int:
    """How many values one `one_of` condition takes on this database."""
    return ARRAY_CHUNK if session.get_bind().dialect.name == "postgresql" else CHUNK


_SEPARATOR = "\x1f"
"""Joins uids into one text parameter on PostgreSQL: a control character, which no uid holds."""


def one_of(session: Session, column: Any, values: list[Any], element_type: Any) -> ColumnElement[bool]:
    """`column IN values`. On PostgreSQL one parameter (`= ANY`): 5,000 values are not 5,000
    placeholders to send and plan. Text values travel joined into one string and are split by
    the server, which costs the driver one value to send instead of an array of thousands."""
    condition: ColumnElement[bool]
    if session.get_bind().dialect.name != "postgresql":
        condition = column.in_(values)
    elif element_type is String:
        condition = column == any_(func.string_to_array(_SEPARATOR.join(values), _SEPARATOR))
    else:
        condition = column == any_(bindparam(None, values, type_=ARRAY(element_type)))
    return condition


def existing_student_ids(session: Session, *, instance_id: int, student_ids: Sequence[int]) -> set[int]:
    """Which of `student_ids` are students of the instance."""
    found: set[int] = set()
    size = chunk_size(session)
    for start in range(0, len(student_ids), size):
        chunk = list(student_ids[start : start + size])
        found.update(
            session.scalars(
                scoped_columns(Student, instance_id, Student.id).where(
                    one_of(session, Student.id, chunk, BigInteger)
                )
            )
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
    size = chunk_size(session)
    for start in range(0, len(uids), size):
        chunk = list(uids[start : start + size])
        # Core, not the ORM's result machinery: thousands of plain rows are read much faster.
        rows = session.connection().execute(
            scoped_columns(Student, instance_id, Student.uid, Student.id).where(
                one_of(session, Student.uid, chunk, String)
            )
        )
        found.update((uid, student_id) for uid, student_id in rows)
        if on_progress is not None:
            on_progress(start + len(chunk), len(uids))
    return found


def find_group_by_uuid(session: Session, *, instance_id: int, group_uuid: uuid.UUID, field: str) -> Group:
    """The group with this LumiNUS id in the instance, or NotFound naming the field."""
    group = session.scalar(scoped(Group, instance_id).where(Group.uuid == group_uuid))
    if group is None:
        raise NotFound(
            f"No group {group_uuid} in this instance ({field}).",
            errors=[FieldError(field=field, rule="not_found", message=f"no group {group_uuid}")],
        )
    return group
