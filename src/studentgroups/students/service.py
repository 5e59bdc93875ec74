"""The rules of students. Flushes, never commits."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, Text, and_, bindparam, cast, or_
from sqlalchemy.orm import Session

from studentgroups import permissions
from studentgroups.auth import Principal
from studentgroups.bulk import insert_rows
from studentgroups.db import utcnow
from studentgroups.errors import BadRequest, Conflict, FieldError, NotFound
from studentgroups.groups.service import get_group, insert_memberships, root_group, set_root_group
from studentgroups.listing import Page, uuid_text, wire_timestamp
from studentgroups.lookup import CHUNK, chunk_size, one_of, student_ids_by_uid
from studentgroups.tables.groups import ROOT_SCOPE, Membership
from studentgroups.tables.students import Student
from studentgroups.tenancy import get_in_instance, paged, scoped_columns, scoped_update

INSERT_CHUNK = 10_000
"""New students written per COPY (or executemany), between two progress reports."""

PROFILE_COLUMNS = ("name", "sexe", "date_of_birth", "country_of_residence", "city_of_residence")
"""A student's Domoscio profile, as columns."""
_NEW_STUDENT_COLUMNS = ("uid", *PROFILE_COLUMNS, "attributes", "uuid")
_NEW_STUDENT_TYPES = ("varchar", "varchar", "varchar", "date", "varchar", "varchar", "jsonb", "uuid")

StudentView = tuple[Student, int | None]
"""A student and the id of their root group (Domoscio's `student_group_id`)."""


def _with_root_group(instance_id: int, *columns: Any) -> Any:
    """Students of the instance with their root group's membership joined; by default each
    student with its root group's id (`StudentView`)."""
    columns = columns or (Student, Membership.group_id)
    return scoped_columns(Student, instance_id, *columns).outerjoin(
        Membership,
        and_(Membership.student_id == Student.id, Membership.sibling_scope == ROOT_SCOPE),
    )


WIRE_COLUMNS = (
    Student.id,
    Student.uid,
    uuid_text(Student.uuid).label("uuid"),
    Membership.group_id.label("student_group_id"),
    Student.name,
    Student.sexe,
    cast(Student.date_of_birth, Text).label("date_of_birth"),  # YYYY-MM-DD, as the wire has it
    Student.country_of_residence,
    Student.city_of_residence,
    cast(Student.attributes, Text).label("attributes"),  # the JSON text itself: never parsed here
    Student.instance_id,
    wire_timestamp(Student.created_at).label("created_at"),
    wire_timestamp(Student.updated_at).label("updated_at"),
)
"""A student as the lists answer it, shaped by the database (`listing`): no ORM object per row,
and no JSON parsed only to be written again (`students.schemas.wire_row`)."""


def wire_rows(
    session: Session,
    *,
    instance_id: int,
    page: Page,
    group_id: int | None = None,
    condition: ColumnElement[bool] | None = None,
) -> tuple[Select[Any], int]:
    """The query of one page of the instance's students (or of one group's members) that meet
    `condition`, by id, in `WIRE_COLUMNS`, and how many there are in all (counted now)."""
    stmt = _with_root_group(instance_id, *WIRE_COLUMNS)
    if condition is not None:
        stmt = stmt.where(condition)
    if group_id is not None:
        get_group(session, instance_id=instance_id, group_id=group_id)
        in_group = scoped_columns(Membership, instance_id, Membership.student_id).where(
            Membership.group_id == group_id
        )
        stmt = stmt.where(Student.id.in_(in_group))
    return paged(session, stmt.order_by(Student.id), page)


def uid_or_name_holds(text: str) -> ColumnElement[bool]:
    """A condition on `Student`: its uid or its name holds `text` (any case)."""
    return or_(Student.uid.icontains(text, autoescape=True), Student.name.icontains(text, autoescape=True))


def get_student(
    session: Session, *, instance_id: int, student_id: int, condition: ColumnElement[bool] | None = None
) -> StudentView:
    """The student and their root group, or NotFound: also when the student does not meet
    `condition` (the caller may not read them), so that the caller learns nothing of them."""
    stmt = _with_root_group(instance_id).where(Student.id == student_id)
    if condition is not None:
        stmt = stmt.where(condition)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"No student with id {student_id} in this instance.")
    return row[0], row[1]


def student_id_of_uid(session: Session, *, instance_id: int, uid: str) -> int:
    """The id of the instance's student with this uid, or NotFound."""
    found = session.scalar(scoped_columns(Student, instance_id, Student.id).where(Student.uid == uid))
    if found is None:
        raise NotFound(f"No student with uid {uid!r} in this instance.")
    return int(found)


def _refuse_taken_uid(session: Session, instance_id: int, uid: str, but: int | None = None) -> None:
    stmt = scoped_columns(Student, instance_id, Student.id).where(Student.uid == uid)
    if but is not None:
        stmt = stmt.where(Student.id != but)
    taken = session.scalar(stmt)
    if taken is not None:
        raise Conflict(
            f"uid {uid!r} is already student {taken}'s in this instance.",
            errors=[FieldError(field="uid", rule="unique", message="already taken in this instance")],
        )


def create_student(
    session: Session, *, instance_id: int, fields: dict[str, Any], student_group_id: int | None
) -> StudentView:
    """A new student, optionally placed in a root group."""
    _refuse_taken_uid(session, instance_id, fields["uid"])
    if student_group_id is not None:
        get_group(session, instance_id=instance_id, group_id=student_group_id, field="student_group_id")
    student = Student(instance_id=instance_id, **fields)
    session.add(student)
    session.flush()
    if student_group_id is not None:
        set_root_group(session, instance_id=instance_id, student_id=student.id, group_id=student_group_id)
    return get_student(session, instance_id=instance_id, student_id=student.id)


def insert_students(
    session: Session,
    *,
    instance_id: int,
    students: Sequence[Mapping[str, Any]],
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Insert new students (each a mapping of Student's columns: `uid`, and any of the profile
    and `attributes`), checked already, uids new and each once, in bulk (`bulk.insert_rows`:
    COPY on PostgreSQL), then their ids read back by uid; uid -> new id. `on_progress(done,
    total)` is told after each chunk."""
    now = utcnow().replace(tzinfo=None)
    for start in range(0, len(students), INSERT_CHUNK):
        chunk = students[start : start + INSERT_CHUNK]
        insert_rows(
            session,
            "students",
            _NEW_STUDENT_COLUMNS,
            _NEW_STUDENT_TYPES,
            (
                (
                    student["uid"],
                    *(student.get(column) for column in PROFILE_COLUMNS),
                    student.get("attributes") or {},
                    uuid_module.uuid4(),
                )
                for student in chunk
            ),
            constants=(
                ("instance_id", "int8", instance_id),
                ("created_at", "timestamp", now),
                ("updated_at", "timestamp", now),
            ),
        )
        if on_progress is not None:
            on_progress(start + len(chunk), len(students))
    return student_ids_by_uid(session, instance_id=instance_id, uids=[s["uid"] for s in students])


def merge_attributes(session: Session, *, instance_id: int, changes: Mapping[int, Mapping[str, Any]]) -> None:
    """Set these attributes on the instance's students (by id), beside the others each has: the
    current attributes read in chunks, merged, and written by one UPDATE run for every student."""
    ids = list(changes)
    now = utcnow()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        current = session.connection().execute(
            scoped_columns(Student, instance_id, Student.id, Student.attributes).where(Student.id.in_(chunk))
        )
        rows = [
            {"b_id": student_id, "b_attributes": {**(attributes or {}), **changes[student_id]}}
            for student_id, attributes in current
        ]
        if rows:
            session.connection().execute(
                scoped_update(Student, instance_id)
                .where(Student.id == bindparam("b_id"))
                .values(attributes=bindparam("b_attributes"), updated_at=now),
                rows,
            )


def update_profiles(session: Session, *, instance_id: int, profiles: Mapping[int, Mapping[str, Any]]) -> int:
    """Set the profile columns each mapping gives (by student id; `attributes` set beside the ones
    the student holds) where they differ from the student's: the students read in chunks, the
    changed ones written by one UPDATE run for each. How many changed."""
    ids = list(profiles)
    now = utcnow()
    changed = 0
    columns = [getattr(Student, c) for c in PROFILE_COLUMNS]
    size = chunk_size(session)
    for start in range(0, len(ids), size):
        current = session.connection().execute(
            scoped_columns(Student, instance_id, Student.id, Student.attributes, *columns).where(
                one_of(session, Student.id, ids[start : start + size], BigInteger)
            )
        )
        rows = []
        for student_id, attributes, *values in current:
            given = profiles[student_id]
            row = dict(zip(PROFILE_COLUMNS, values, strict=True))
            row |= {c: given[c] for c in PROFILE_COLUMNS if c in given}
            row["attributes"] = {**(attributes or {}), **given.get("attributes", {})}
            if row != {**dict(zip(PROFILE_COLUMNS, values, strict=True)), "attributes": attributes or {}}:
                rows.append({f"b_{k}": v for k, v in row.items()} | {"b_id": student_id})
        if rows:
            session.connection().execute(
                scoped_update(Student, instance_id)
                .where(Student.id == bindparam("b_id"))
                .values({c: bindparam(f"b_{c}") for c in (*PROFILE_COLUMNS, "attributes")})
                .values(updated_at=now),
                rows,
            )
        changed += len(rows)
    return changed


def upsert_students(
    session: Session,
    *,
    instance_id: int,
    students: Sequence[Mapping[str, Any]],
    known: Mapping[str, int],
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """The students as given (each a mapping of Student's columns, `uid` among them, each uid
    once): those `known` (uid -> id, the instance's) have their `attributes` set beside the ones
    they hold, their profile left as it is; the others are inserted with every column given.
    uid -> id of them all."""
    merge_attributes(
        session,
        instance_id=instance_id,
        changes={
            known[s["uid"]]: s["attributes"] for s in students if s["uid"] in known and s.get("attributes")
        },
    )
    ids = dict(known)
    new = [s for s in students if s["uid"] not in known]
    ids.update(insert_students(session, instance_id=instance_id, students=new, on_progress=on_progress))
    return ids


def create_students(
    session: Session,
    *,
    instance_id: int,
    students: Sequence[Mapping[str, Any]],
    student_group_ids: Sequence[int | None],
) -> list[StudentView]:
    """New students, all or none, in the order given (`POST /students` with an array): a uid
    given twice is a BadRequest, a uid the instance has a Conflict, a group that is not a root
    group of the instance NotFound or BadRequest, each naming the student by its place (`3.uid`)."""
    place_of: dict[str, int] = {}
    repeated: list[FieldError] = []
    for place, fields in enumerate(students):
        uid = fields["uid"]
        if uid in place_of:
            message = f"the uid of student {place_of[uid]} of this call too"
            repeated.append(FieldError(field=f"{place}.uid", rule="unique", message=message))
        place_of.setdefault(uid, place)
    if repeated:
        raise BadRequest(f"{len(repeated)} uid(s) given twice in the call.", errors=repeated)
    taken = student_ids_by_uid(session, instance_id=instance_id, uids=list(place_of))
    if taken:
        raise Conflict(
            f"{len(taken)} uid(s) already taken in this instance.",
            errors=[
                FieldError(
                    field=f"{place_of[uid]}.uid",
                    rule="unique",
                    message=f"already student {taken[uid]}'s in this instance",
                )
                for uid in sorted(taken, key=place_of.__getitem__)
            ],
        )
    placed: dict[int, list[str]] = {}
    for place, group_id in enumerate(student_group_ids):
        if group_id is not None and group_id not in placed:
            root_group(session, instance_id=instance_id, group_id=group_id, field=f"{place}.student_group_id")
        if group_id is not None:
            placed.setdefault(group_id, []).append(students[place]["uid"])
    ids = insert_students(session, instance_id=instance_id, students=students)
    for group_id, uids in placed.items():
        insert_memberships(
            session,
            instance_id=instance_id,
            group_id=group_id,
            scope=ROOT_SCOPE,
            exclusive=True,
            student_ids=[ids[uid] for uid in uids],
        )
    order = [ids[fields["uid"]] for fields in students]
    views: dict[int, StudentView] = {}
    for start in range(0, len(order), CHUNK):
        views.update(
            (v[0].id, v)
            for v in students_by_id(session, instance_id=instance_id, ids=order[start : start + CHUNK])
        )
    return [views[i] for i in order]


def update_student(
    session: Session, principal: Principal, *, student_id: int, changes: dict[str, Any]
) -> StudentView:
    """Apply the fields sent, and only those; `student_group_id` moves the student between root groups.

    Refused unless the caller may change the student (`permissions.require_change_student`).
    """
    instance_id = principal.instance_id
    student = get_in_instance(session, Student, student_id, instance_id, what="student")
    permissions.require_change_student(session, principal, student.id)
    if "uid" in changes:
        _refuse_taken_uid(session, instance_id, changes["uid"], but=student.id)
    if "student_group_id" in changes:
        set_root_group(
            session,
            instance_id=instance_id,
            student_id=student.id,
            group_id=changes.pop("student_group_id"),
        )
    for field, value in changes.items():
        setattr(student, field, value)
    session.flush()
    return get_student(session, instance_id=instance_id, student_id=student.id)


def delete_student(session: Session, principal: Principal, *, student_id: int) -> StudentView:
    """Delete a student: their memberships, results and queue places go with them (the
    database's cascades), and so do their learner's user and keys.

    Refused unless the caller may change the student (`permissions.require_change_student`).
    """
    view = get_student(session, instance_id=principal.instance_id, student_id=student_id)
    permissions.require_change_student(session, principal, student_id)
    session.delete(view[0])
    session.flush()
    return view


def students_by_id(session: Session, *, instance_id: int, ids: Sequence[int]) -> Sequence[StudentView]:
    """The given students (of this instance) with their root groups, by id."""
    stmt = _with_root_group(instance_id).where(Student.id.in_(list(ids))).order_by(Student.id)
    return [(row[0], row[1]) for row in session.execute(stmt)]
