"""At the close of a self-enrolment window: place every student of the module still without a
group under the parent (LumiNUS "allocate after expiry", Blackboard), with the formation engine's
top-up mode, and report who could not be placed.

Run by a manager's call (preview or save), and by the service itself once the window of a
parent whose policy asks for it has closed (`close_due_windows`, every
`ENROLMENT_SWEEP_SECONDS`, or `studentgroups close-enrolment` from cron).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.audit import service as audit
from studentgroups.db import transaction, utcnow
from studentgroups.enrolment.service import policy_of
from studentgroups.errors import AppError
from studentgroups.formations.service import Options, Place, form
from studentgroups.listing import uuid_text
from studentgroups.modules.service import pool_of
from studentgroups.siblings import Siblings, lock_module, siblings_under, under_parent
from studentgroups.tables.enrolment import EnrolmentPolicy
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import related_in_instance, scoped, scoped_columns

logger = logging.getLogger("studentgroups.enrolment")

SYSTEM_ACTOR = "system:self-enrolment"
"""Who the audit log names for what the service does by itself at a window's close."""


@dataclass(frozen=True, slots=True)
class Allocation:
    """What an allocation did (or would do): every group under the parent with all its members'
    user ids, the user ids placed now, and those no group had room for."""

    siblings: Siblings[Module]
    members: dict[int, list[str]]
    placed: list[str]
    unplaced: list[str]
    seed: int
    saved: bool
    formation_id: int | None
    student_ids: dict[str, int]
    """user id (uuid text) -> student id, for every student named above"""


def allocate_unplaced(
    session: Session, *, siblings: Siblings[Module], user_id: int | None, save: bool, seed: int | None = None
) -> Allocation:
    """Top up the class groups under the parent with the module's students not yet in one of them:
    the roster, and the guests when the policy admits them. Nobody already placed moves, and no
    group goes over `maxUser`. With `save`, written and recorded in the formation history."""
    module = siblings.module
    if save:
        lock_module(session, module)
    siblings = siblings_under(session, module, siblings.parent)
    policy = policy_of(session, siblings)
    pool = pool_of(session, module, include_guests=policy.admit_guests)
    # Members already in the groups count against their capacity, whether or not they are in the pool.
    already = _members_of(session, module.instance_id, [g.id for g in siblings.targets])
    pool.update(already)
    place = Place(siblings, pool)
    outcome = form(
        session,
        user_id,
        place=place,
        options=Options(seed=seed, top_up=True),
        save=save,
        request_record={"call": "allocate after close", "parentGroupID": _uuid(siblings)},
    )
    members = {group.id: keys for group, _, keys in outcome.groups if group is not None}
    placed = sorted({k for keys in members.values() for k in keys} - set(already))
    return Allocation(
        siblings=siblings,
        members=members,
        placed=placed,
        unplaced=outcome.unplaced,
        seed=outcome.seed,
        saved=save,
        formation_id=outcome.saved.id if outcome.saved else None,
        student_ids=pool,
    )


def _uuid(siblings: Siblings[Module]) -> str | None:
    return str(siblings.parent.uuid) if siblings.parent is not None else None


def _members_of(session: Session, instance_id: int, group_ids: list[int]) -> dict[str, int]:
    rows = session.execute(
        scoped_columns(Membership, instance_id, uuid_text(Student.uuid), Student.id)
        .join(Student, Student.id == Membership.student_id)
        .where(Membership.group_id.in_(group_ids))
    )
    return {key: student_id for key, student_id in rows}


# At the close of a window ------------------------------------------------------------------------


def window_closes_at(session: Session, policy: EnrolmentPolicy) -> datetime | None:
    """When the window of the parent closes: the last close date of its self-enrol groups; None
    while any of them has none (it never closes) or there are none."""
    stmt = scoped_columns(
        Group,
        policy.instance_id,
        func.count(),
        func.count(Group.self_enrol_close_date),
        func.max(Group.self_enrol_close_date),
    ).where(
        Group.self_enrol.is_(True),
        under_parent(policy.module_id, policy.parent_group_id),
    )
    groups, with_close, last = session.execute(stmt).one()
    if not groups or with_close < groups or last is None:
        return None
    closes: datetime = last if last.tzinfo is not None else last.replace(tzinfo=utcnow().tzinfo)
    return closes


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """One parent allocated at its window's close."""

    instance_id: int
    policy_id: int
    placed: int
    unplaced: int
    error: str | None


def close_due_windows(factory: sessionmaker[Session], now: datetime | None = None) -> list[ClosedWindow]:
    """Allocate, each in its own transaction, every parent whose policy asks for it and whose
    window has closed since it last ran. Safe to run from several processes at once: each
    allocation locks its module and runs once."""
    now = now or utcnow()
    with transaction(factory) as session:
        # The service's own sweep over every instance: each policy is then handled in its own.
        armed = session.scalars(
            select(EnrolmentPolicy)
            .where(EnrolmentPolicy.allocate_after_close.is_(True), EnrolmentPolicy.allocated_at.is_(None))
            .order_by(EnrolmentPolicy.id)
        ).all()
        due = [
            (policy.id, policy.instance_id)
            for policy in armed
            if (closes := window_closes_at(session, policy)) is not None and closes <= now
        ]
    done = []
    for policy_id, instance_id in due:
        try:
            closed = _close_one(factory, instance_id, policy_id, now)
        except AppError as error:
            closed = _record_failure(factory, instance_id, policy_id, now, error.detail)
        except Exception:
            # Not the policy's fault (the database, say): the next sweep tries again; the others go on.
            logger.exception("self-enrolment allocation of policy %s failed; trying again later", policy_id)
            continue
        if closed is not None:
            done.append(closed)
    return done


def _close_one(
    factory: sessionmaker[Session], instance_id: int, policy_id: int, now: datetime
) -> ClosedWindow | None:
    with transaction(factory) as session:
        policy = session.scalar(scoped(EnrolmentPolicy, instance_id).where(EnrolmentPolicy.id == policy_id))
        if policy is None:
            return None
        closes = window_closes_at(session, policy)
        if closes is None or closes > now:
            return None
        module = session.scalar(scoped(Module, instance_id).where(Module.id == policy.module_id))
        assert module is not None
        lock_module(session, module)
        session.refresh(policy)
        if policy.allocated_at is not None or not policy.allocate_after_close:
            return None  # another process got there first
        parent = related_in_instance(session, Group, policy.parent_group_id, policy.instance_id)
        allocation = allocate_unplaced(session, siblings=Siblings(module, parent), user_id=None, save=True)
        policy.allocated_at = now
        policy.allocation_formation_id = allocation.formation_id
        policy.allocation_unplaced = allocation.unplaced
        policy.allocation_error = None
        audit.record(session, _system_write(instance_id, module, parent))
        logger.info(
            "self-enrolment closed for module %s: %d placed, %d unplaced",
            module.code,
            len(allocation.placed),
            len(allocation.unplaced),
        )
        return ClosedWindow(instance_id, policy_id, len(allocation.placed), len(allocation.unplaced), None)


def _record_failure(
    factory: sessionmaker[Session], instance_id: int, policy_id: int, now: datetime, detail: str
) -> ClosedWindow | None:
    """An allocation that cannot run (the groups have sub-groups, say) is recorded, not retried forever."""
    logger.warning("self-enrolment allocation of policy %s failed: %s", policy_id, detail)
    with transaction(factory) as session:
        policy = session.scalar(scoped(EnrolmentPolicy, instance_id).where(EnrolmentPolicy.id == policy_id))
        if policy is None or policy.allocated_at is not None:
            return None
        policy.allocated_at = now
        policy.allocation_error = detail[:2000]
        module = session.scalar(scoped(Module, instance_id).where(Module.id == policy.module_id))
        parent = related_in_instance(session, Group, policy.parent_group_id, instance_id)
        assert module is not None
        audit.record(session, _system_write(instance_id, module, parent))
        return ClosedWindow(instance_id, policy_id, 0, 0, detail)


def _system_write(instance_id: int, module: Module, parent: Group | None) -> audit.Write:
    where = f"module {module.uuid}" + (f" parent {parent.uuid}" if parent is not None else " root")
    return audit.Write(
        instance_id=instance_id,
        actor=SYSTEM_ACTOR,
        method="TASK",
        path=f"self-enrolment window closed: {where}",
        operation="allocate_after_close",
    )
