"""Placing late enrollees: a student newly put on a module's roster goes at once into the
smallest group with room under each parent whose policy asks for it (Brightspace's auto-enrol).

Called by every path that adds students to a roster, in the same transaction. Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from studentgroups.groups.service import memberships_in_scope
from studentgroups.seats import has_room, member_counts, take_seats
from studentgroups.siblings import Siblings, lock_module
from studentgroups.tables.enrolment import EnrolmentPolicy
from studentgroups.tables.groups import Group
from studentgroups.tables.modules import Module
from studentgroups.tenancy import scoped


@dataclass(slots=True)
class LatePlacement:
    """Where the newcomers went: (group id, student id) seats taken, and (parent scope, student id)
    for each student a policy asked to place but no group under it had room for."""

    placed: list[tuple[int, int]] = field(default_factory=list)
    unplaced: list[tuple[str, int]] = field(default_factory=list)


def place_late_enrollees(
    session: Session, *, module: Module, student_ids: Sequence[int], guests: bool = False
) -> LatePlacement:
    """Place students just added to the module's roster (`guests`: its guest group) under every
    parent whose policy places late enrollees (and, for guests, admits them).

    Each goes to the group with the fewest members that has room (ties: the first made), never
    over `maxUser`; a student already in a group under that parent stays where they are.
    """
    outcome = LatePlacement()
    if not student_ids:
        return outcome
    instance_id = module.instance_id
    stmt = scoped(EnrolmentPolicy, instance_id).where(
        EnrolmentPolicy.module_id == module.id, EnrolmentPolicy.place_late_enrollees.is_(True)
    )
    if guests:
        stmt = stmt.where(EnrolmentPolicy.admit_guests.is_(True))
    policies = list(session.scalars(stmt.order_by(EnrolmentPolicy.id)))
    if not policies:
        return outcome
    lock_module(session, module)
    parent_ids = [p.parent_group_id for p in policies if p.parent_group_id is not None]
    parents: dict[int, Group] = {}
    if parent_ids:  # a policy's parent goes with it (ON DELETE CASCADE): each is found
        found = session.scalars(scoped(Group, instance_id).where(Group.id.in_(parent_ids)))
        parents = {g.id: g for g in found}
    newcomers = list(dict.fromkeys(student_ids))
    for policy in policies:
        parent = parents[policy.parent_group_id] if policy.parent_group_id is not None else None
        _place_under(session, Siblings(module, parent), newcomers, outcome)
    session.flush()
    return outcome


def _place_under(
    session: Session, siblings: Siblings[Module], student_ids: list[int], outcome: LatePlacement
) -> None:
    instance_id, scope = siblings.instance_id, siblings.scope
    stmt = scoped(Group, instance_id).where(siblings.condition)
    groups = list(session.scalars(stmt.order_by(Group.id)))
    if not groups:
        return
    counts = member_counts(session, instance_id, [g.id for g in groups])
    placed_already = memberships_in_scope(session, instance_id, scope, student_ids)
    seats: list[tuple[int, int]] = []
    for student_id in student_ids:
        if student_id in placed_already:
            continue
        open_groups = [g for g in groups if has_room(g, counts[g.id])]
        if not open_groups:
            outcome.unplaced.append((scope, student_id))
            continue
        smallest = min(open_groups, key=lambda g: (counts[g.id], g.id))
        counts[smallest.id] += 1
        seats.append((smallest.id, student_id))
    take_seats(session, instance_id=instance_id, seats=seats, scope=scope, exclusive=siblings.exclusive)
    outcome.placed.extend(seats)
