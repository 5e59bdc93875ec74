"""Search a module's students and their groups: by text, parent group and group type.

The rows are the module's students (its roster, and its guests unless excluded), each with the
groups it is in at one level of the module: the sub-groups of a parent group, or the module's
root groups (its roster and guest groups aside). Group type `-1` finds the students in no group
at that level. Everything is filtered, counted and paged by the database: four queries, whatever
the number of students.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Row, and_, exists, func, or_, select
from sqlalchemy.orm import Session

from studentgroups import permissions
from studentgroups.auth import Principal
from studentgroups.class_groups.service import module_groups
from studentgroups.errors import Forbidden
from studentgroups.groups.access import visible
from studentgroups.listing import uuid_text
from studentgroups.lookup import chunk_size, one_of
from studentgroups.modules.service import is_manager
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import scoped_columns

IN_NO_GROUP = -1
_ROSTERS = (GroupType.STUDENT_ROSTER, GroupType.GUEST_GROUP)


@dataclass(frozen=True, slots=True)
class FoundStudent:
    """A student of the module and the groups (at the level searched) it is in."""

    id: int
    user_id: str
    uid: str
    name: str | None
    groups: list[Row[Any]]


def _level(module: Module, parent: Group | None, group_type: int | None) -> ColumnElement[bool]:
    """The groups searched: one level of the module, of one type when asked."""
    conditions: list[ColumnElement[bool]] = [Group.module_id == module.id]
    if parent is None:
        conditions += [Group.parent_group_id.is_(None), Group.group_type.not_in(_ROSTERS)]
    else:
        conditions.append(Group.parent_group_id == parent.id)
    if group_type is not None and group_type != IN_NO_GROUP:
        conditions.append(Group.group_type == group_type)
    return and_(*conditions)


def search_students(
    session: Session,
    principal: Principal,
    *,
    module: Module,
    parent: Group | None,
    text: str | None,
    group_type: int | None,
    include_guests: bool,
    offset: int,
    limit: int | None,
) -> tuple[list[FoundStudent], int]:
    """A page of the module's students that match, each with its groups at the level searched."""
    instance_id = module.instance_id
    manager = is_manager(session, principal, module)
    if group_type == IN_NO_GROUP and not manager:
        raise Forbidden(
            f"Only a manager of module {module.code} sees who is in no group: the roster is staff only."
        )
    level = _level(module, parent, group_type)
    if not manager:
        level = level & visible(principal, manages_module=False)
    kinds = [GroupType.STUDENT_ROSTER] + ([GroupType.GUEST_GROUP] if include_guests else [])
    rosters = scoped_columns(Group, instance_id, Group.id).where(
        Group.module_id == module.id, Group.parent_group_id.is_(None), Group.group_type.in_(kinds)
    )
    on_module = exists().where(Membership.student_id == Student.id, Membership.group_id.in_(rosters))
    in_level = (
        scoped_columns(Membership, instance_id, Membership.student_id)
        .join(Group, Group.id == Membership.group_id)
        .where(level)
    )
    stmt = scoped_columns(Student, instance_id, Student.id).where(on_module)
    if group_type == IN_NO_GROUP:
        stmt = stmt.where(Student.id.not_in(in_level))
    elif group_type is not None or not manager:
        stmt = stmt.where(Student.id.in_(in_level))
    if text:
        stmt = stmt.where(_matches(principal, in_level, text.lower()))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    page = (
        stmt.with_only_columns(Student.id, uuid_text(Student.uuid), Student.uid, Student.name)
        .order_by(Student.uid, Student.id)
        .offset(offset)
    )
    if limit is not None:
        page = page.limit(limit)
    students = session.execute(page).all()
    groups = _groups_of(session, principal, module, manager, level, [s[0] for s in students])
    return [
        FoundStudent(id=student_id, user_id=user_id, uid=uid, name=name, groups=groups.get(student_id, []))
        for student_id, user_id, uid, name in students
    ], total


def _matches(principal: Principal, in_level: Any, pattern: str) -> ColumnElement[bool]:
    """The students `text` finds: by uid, name, or the name of a group they are in at the level.

    Only by what the caller may read of them, or a search would tell what an answer hides: a
    learner finds others by name (never by uid), a read-only key by uid (never by name).
    """
    uid = func.lower(Student.uid).contains(pattern, autoescape=True)
    if principal.student_id is not None:
        uid = uid & (Student.id == principal.student_id)
    found = [uid, Student.id.in_(in_level.where(func.lower(Group.name).contains(pattern, autoescape=True)))]
    if permissions.may_read_profiles(principal) or principal.student_id is not None:
        found.append(func.lower(func.coalesce(Student.name, "")).contains(pattern, autoescape=True))
    return or_(*found)


def _groups_of(
    session: Session,
    principal: Principal,
    module: Module,
    manager: bool,
    level: ColumnElement[bool],
    student_ids: Sequence[int],
) -> dict[int, list[Row[Any]]]:
    """Each student's groups at the level searched, in one query."""
    if not student_ids:
        return {}
    groups = (
        module_groups(session, principal, module, manages=manager)
        .add_columns(Membership.student_id)
        .join(Membership, Membership.group_id == Group.id)
        .where(level)
        .order_by(Group.name, Group.id)
    )
    out: dict[int, list[Row[Any]]] = {}
    # A page may be a whole module of 100,000 students: never one bind parameter each.
    size = chunk_size(session)
    for start in range(0, len(student_ids), size):
        chunk = list(student_ids[start : start + size])
        for row in session.execute(groups.where(one_of(session, Membership.student_id, chunk, BigInteger))):
            out.setdefault(row.student_id, []).append(row)
    return out
