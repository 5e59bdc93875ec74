"""The seats of a module's groups: who may take one, how many are taken, and taking one.

What the learner's calls (`enrolment.service`), the placement of late enrollees
(`late_enrollees`) and a saved formation (its queues dropped) share. Every write here runs under
the module's lock (`siblings.lock_module`): the count read and the seat taken belong to one moment.
Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, func, tuple_
from sqlalchemy.orm import Session

from studentgroups.db import InstanceOwned
from studentgroups.errors import FieldError, Forbidden
from studentgroups.groups.service import write_memberships
from studentgroups.lookup import CHUNK
from studentgroups.tables.enrolment import EnrolmentPolicy, WaitlistEntry
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tenancy import scoped, scoped_columns, scoped_delete


class Window(StrEnum):
    """Where a group's self-enrolment window stands at a moment."""

    NOT_OPEN = "notOpen"
    OPEN = "open"
    CLOSED = "closed"


def window_of(group: Group, now: datetime) -> Window:
    """No open date: open from the start; no close date: never closes."""
    if group.self_enrol_open_date is not None and now < group.self_enrol_open_date:
        return Window.NOT_OPEN
    if group.self_enrol_close_date is not None and now >= group.self_enrol_close_date:
        return Window.CLOSED
    return Window.OPEN


def has_room(group: Group, members: int) -> bool:
    """`maxUser` 0 is no limit."""
    return group.max_user == 0 or members < group.max_user


def policy_for(session: Session, instance_id: int, scope: str) -> EnrolmentPolicy | None:
    """The policy of the groups of one sibling scope, if their managers set one."""
    return session.scalar(scoped(EnrolmentPolicy, instance_id).where(EnrolmentPolicy.scope == scope))


def standing(session: Session, *, instance_id: int, module_id: int, student_id: int) -> set[int]:
    """The kinds of the module's roster groups that hold the student: Student Roster, Guest Group."""
    return set(
        session.scalars(
            scoped_columns(Membership, instance_id, Group.group_type)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Membership.student_id == student_id,
                Group.module_id == module_id,
                Group.parent_group_id.is_(None),
                Group.group_type.in_([GroupType.STUDENT_ROSTER, GroupType.GUEST_GROUP]),
            )
        )
    )


def admitted(kinds: set[int], *, admit_guests: bool) -> bool:
    """Whether a student of this `standing` may hold a seat: on the roster, or a guest admitted."""
    return GroupType.STUDENT_ROSTER in kinds or (admit_guests and GroupType.GUEST_GROUP in kinds)


def held_in_scope(session: Session, *, instance_id: int, student_id: int, scope: str) -> dict[int, bool]:
    """The groups of the scope the student is in, each with whether that membership is exclusive."""
    rows = session.execute(
        scoped_columns(Membership, instance_id, Membership.group_id, Membership.exclusive).where(
            Membership.student_id == student_id, Membership.sibling_scope == scope
        )
    )
    return {group_id: exclusive for group_id, exclusive in rows}


def require_on_module(
    session: Session,
    *,
    instance_id: int,
    module_id: int,
    module_code: str,
    student_id: int,
    admit_guests: bool,
) -> None:
    """Forbidden, saying which, unless the student is on the module's roster, or one of its guests
    while the groups admit guests."""
    kinds = standing(session, instance_id=instance_id, module_id=module_id, student_id=student_id)
    if admitted(kinds, admit_guests=admit_guests):
        return
    if GroupType.GUEST_GROUP in kinds:
        raise Forbidden(
            f"Refused (guests not admitted): the user is a guest of module {module_code}, and these "
            "groups take only students on its roster.",
            errors=[refusal("guests_not_admitted", "a guest; these groups admit the roster only")],
        )
    raise Forbidden(
        f"Refused (not on the roster): the user is not on module {module_code}'s roster.",
        errors=[refusal("not_on_roster", "not on the module's roster")],
    )


def refusal(rule: str, message: str) -> FieldError:
    """The reason a self-enrolment call was refused, as a rule a client can branch on."""
    return FieldError(field="self_enrol", rule=rule, message=message)


def member_counts(session: Session, instance_id: int, group_ids: Sequence[int]) -> dict[int, int]:
    """How many members each group holds, in one query."""
    return _per_group(session, Membership, Membership.group_id, instance_id, group_ids)


def queue_lengths(session: Session, instance_id: int, group_ids: Sequence[int]) -> dict[int, int]:
    """How many learners wait for each group, in one query."""
    return _per_group(session, WaitlistEntry, WaitlistEntry.group_id, instance_id, group_ids)


def _per_group(
    session: Session, model: type[InstanceOwned], group_id: Any, instance_id: int, group_ids: Sequence[int]
) -> dict[int, int]:
    counts = dict.fromkeys(group_ids, 0)
    rows = session.execute(
        scoped_columns(model, instance_id, group_id, func.count())
        .where(group_id.in_(list(group_ids)))
        .group_by(group_id)
    )
    counts.update({group: n for group, n in rows})
    return counts


def take_seats(
    session: Session,
    *,
    instance_id: int,
    seats: Sequence[tuple[int, int]],
    scope: str,
    exclusive: bool,
) -> None:
    """Put each (group id, student id) in, and take the students off the queues they no longer need:
    every queue of the scope where a student may hold one group, else the queue of the group taken."""
    if not seats:
        return
    write_memberships(session, seats, instance_id=instance_id, scope=scope, exclusive=exclusive)
    for start in range(0, len(seats), CHUNK):
        chunk = list(seats[start : start + CHUNK])
        taken: ColumnElement[bool] = (
            WaitlistEntry.student_id.in_([s for _, s in chunk]) & (WaitlistEntry.sibling_scope == scope)
            if exclusive
            else tuple_(WaitlistEntry.group_id, WaitlistEntry.student_id).in_(chunk)
        )
        session.execute(scoped_delete(WaitlistEntry, instance_id).where(taken))


def drop_queues(
    session: Session, *, instance_id: int, scope: str, student_ids: Sequence[int] | None = None
) -> None:
    """Take the students (None: everyone) off every waiting list of the scope: a formation placed them."""
    stmt = scoped_delete(WaitlistEntry, instance_id).where(WaitlistEntry.sibling_scope == scope)
    if student_ids is None:
        session.execute(stmt)
        return
    for start in range(0, len(student_ids), CHUNK):
        session.execute(stmt.where(WaitlistEntry.student_id.in_(list(student_ids[start : start + CHUNK]))))
