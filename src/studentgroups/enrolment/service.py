"""The rules of self-enrolment: what a learner may see, join, queue for, leave and switch to, and
the policy managers set on the groups under one parent. Flushes, never commits.

A learner takes a seat in a group when the group is open to self-enrolment (`selfEnrol`), its
window is open (`selfEnrolOpenDate` to `selfEnrolCloseDate`), it has room (`maxUser`, 0 = no
limit), the learner is on the module's roster (or a guest, when the policy admits guests), and
holds no other group under the same parent unless the parent allows multiple. Every write takes
the module's lock first, so that the count it reads is the count it writes against: a cohort
joining in the same second never puts a group over its limit.

A full group with a waiting list (`waitlist`) queues whoever asks; a seat freed by a leave, a
switch, or a raised limit goes to the first in its queue in the same transaction.
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session, aliased

from studentgroups.auth import Principal
from studentgroups.errors import BadRequest, Conflict, FieldError, Forbidden, NotFound
from studentgroups.groups import service as groups_service
from studentgroups.lookup import CHUNK
from studentgroups.modules.service import is_manager, require_manager
from studentgroups.permissions import modules_readable
from studentgroups.seats import (
    Window,
    admitted,
    drop_queues,
    has_room,
    held_in_scope,
    member_counts,
    policy_for,
    queue_lengths,
    refusal,
    require_on_module,
    standing,
    take_seats,
    window_of,
)
from studentgroups.siblings import (
    Siblings,
    class_parent,
    lock_module,
    sibling_scope,
)
from studentgroups.tables.enrolment import EnrolmentPolicy, WaitlistEntry
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import related_in_instance, scoped, scoped_columns, scoped_delete, scoped_update

logger = logging.getLogger("studentgroups.enrolment")


# Who the call is for --------------------------------------------------------------------------


def acting_for(
    session: Session,
    principal: Principal,
    *,
    user_id: uuid.UUID | None = None,
    student_id: int | None = None,
    field: str = "user_id",
) -> int:
    """The student a call acts for: a learner's key acts for its own student; any other key names
    the student (`field`: `user_id`, which LumiNUS writes `userID`, or `student_id` on our own
    surface)."""
    named = user_id is not None or student_id is not None
    if principal.student_id is not None:
        if named and not _is_own(session, principal, user_id, student_id):
            raise Forbidden(f"A learner's key acts for its own student only ({field}).")
        return principal.student_id
    if not named:
        raise BadRequest(
            f"Name the student this key acts for ({field}).",
            errors=[
                FieldError(field=field, rule="missing", message="required for a key that is not a learner's")
            ],
        )
    stmt = scoped_columns(Student, principal.instance_id, Student.id)
    stmt = (
        stmt.where(Student.uuid == user_id) if user_id is not None else stmt.where(Student.id == student_id)
    )
    found = session.scalar(stmt)
    if found is None:
        shown = user_id if user_id is not None else student_id
        raise NotFound(
            f"No student {shown} in this instance ({field}).",
            errors=[FieldError(field=field, rule="not_found", message=f"no student {shown}")],
        )
    return int(found)


def module_group(session: Session, *, instance_id: int, group_id: int) -> Group:
    """A group of one of the instance's modules (self-enrolment is a module's), or NotFound."""
    group = groups_service.get_group(session, instance_id=instance_id, group_id=group_id)
    if group.module_id is None:
        raise NotFound(f"No module group with id {group_id} in this instance.")
    return group


def _is_own(
    session: Session, principal: Principal, user_id: uuid.UUID | None, student_id: int | None
) -> bool:
    if student_id is not None:
        return student_id == principal.student_id
    own = session.scalar(
        scoped_columns(Student, principal.instance_id, Student.uuid).where(Student.id == principal.student_id)
    )
    return bool(own == user_id)


# The policy of a parent --------------------------------------------------------------------------


def siblings_named(session: Session, module: Module, parent_uuid: uuid.UUID | None) -> Siblings[Module]:
    """The groups under the parent a call names: a class group of the module, or its root."""
    return Siblings(module=module, parent=class_parent(session, module, parent_uuid))


def siblings_of_group(session: Session, group: Group) -> Siblings[Module]:
    """The groups under this group's parent (its siblings, itself among them)."""
    module = _module_of(session, group)
    parent = related_in_instance(session, Group, group.parent_group_id, group.instance_id)
    return Siblings(module=module, parent=parent)


def policy_of(session: Session, siblings: Siblings[Module]) -> EnrolmentPolicy:
    """The policy of the groups under the parent; an unsaved default (nothing admitted beyond
    the roster) when none is set."""
    found = policy_for(session, siblings.instance_id, siblings.scope)
    if found is not None:
        return found
    return EnrolmentPolicy(
        instance_id=siblings.instance_id,
        module_id=siblings.module.id,
        parent_group_id=siblings.parent_id,
        scope=siblings.scope,
        admit_guests=False,
        allocate_after_close=False,
        place_late_enrollees=False,
    )


def read_policy(session: Session, principal: Principal, siblings: Siblings[Module]) -> EnrolmentPolicy:
    """The policy of the groups under the parent, for the module's managers only: its last
    allocation names students."""
    if not is_manager(session, principal, siblings.module):
        raise Forbidden(f"Only a manager of module {siblings.module.code} reads its self-enrolment policy.")
    return policy_of(session, siblings)


def unplaced_student_ids(session: Session, policy: EnrolmentPolicy) -> list[int]:
    """The ids of the students the policy's last allocation could not place, in its order."""
    unplaced = [uuid.UUID(u) for u in policy.allocation_unplaced or []]
    ids: dict[uuid.UUID, int] = {}
    for start in range(0, len(unplaced), CHUNK):
        rows = session.execute(
            scoped_columns(Student, policy.instance_id, Student.uuid, Student.id).where(
                Student.uuid.in_(unplaced[start : start + CHUNK])
            )
        )
        ids.update({student_uuid: student_id for student_uuid, student_id in rows})
    return [ids[u] for u in unplaced if u in ids]


POLICY_FIELDS = ("admit_guests", "allocate_after_close", "place_late_enrollees")


def set_policy(
    session: Session, principal: Principal, siblings: Siblings[Module], *, changes: dict[str, Any]
) -> EnrolmentPolicy:
    """Change the fields sent, and only those (module managers only).

    Sending `allocate_after_close` true arms the allocation again: it runs at the next close of
    the window even if it ran before. `allow_multiple` is the parent group's own setting.
    """
    require_manager(session, principal, siblings.module)
    siblings.lock(session)
    if "allow_multiple" in changes:
        _set_allow_multiple(session, siblings, bool(changes["allow_multiple"]))
    policy = policy_of(session, siblings)
    if policy.id is None:
        session.add(policy)
    for name in POLICY_FIELDS:
        if name in changes:
            setattr(policy, name, bool(changes[name]))
    if changes.get("allocate_after_close"):
        policy.allocated_at = None
        policy.allocation_error = None
    session.flush()
    return policy


GROUP_FIELDS = (
    "name",
    "description",
    "group_access",
    "self_enrol",
    "max_user",
    "self_enrol_open_date",
    "self_enrol_close_date",
    "waitlist",
)


def update_group(session: Session, principal: Principal, group: Group, *, changes: dict[str, Any]) -> Group:
    """Change a module group's fields sent, and only those (module managers only).

    A raised `max_user` gives its new seats to the queue at once. Turning the waiting list off
    takes nobody off it: it stops new learners joining the queue.
    """
    if group.module_id is None:
        raise NotFound(
            f"No module group {group.uuid} in this instance: an instance's own groups change with "
            "PUT /student_groups/{id}."
        )
    module = _module_of(session, group)
    require_manager(session, principal, module)
    if group.group_type in (GroupType.STUDENT_ROSTER, GroupType.GUEST_GROUP):
        kind = GroupType(group.group_type).display_name
        raise BadRequest(f"Group {group.name!r} is the module's {kind}: its students change on the module.")
    if changes.get("self_enrol") and group.group_type != GroupType.CLASS_GROUP:
        raise BadRequest(
            "Only class groups take self-enrolment.",
            errors=[
                FieldError(
                    field="self_enrol",
                    rule="class_groups_only",
                    message="only class groups take self-enrolment",
                )
            ],
        )
    lock_module(session, module)
    session.refresh(group)
    for name in GROUP_FIELDS:
        if name in changes:
            setattr(group, name, changes[name])
    opens, closes = group.self_enrol_open_date, group.self_enrol_close_date
    if opens is not None and closes is not None and opens >= closes:
        raise BadRequest(
            "self_enrol_open_date must be before self_enrol_close_date.",
            errors=[
                FieldError(
                    field="self_enrol_close_date", rule="after_open", message="must be after the open date"
                )
            ],
        )
    session.flush()
    fill_from_queues(session, group.instance_id, [group.id])
    return group


def _set_allow_multiple(session: Session, siblings: Siblings[Module], allow: bool) -> None:
    """Let a student hold several of the parent's sub-groups, or only one again: refused while a
    student holds several, and the memberships become exclusive again, under the unique index."""
    parent = siblings.parent
    if parent is not None:
        session.refresh(parent)  # as it is now that the module is locked
    if parent is None:
        raise BadRequest(
            "allow_multiple: a module's root class groups hold a student once; set it on a parent group.",
            errors=[FieldError(field="allow_multiple", rule="parent_only", message="needs a parent group")],
        )
    instance_id = parent.instance_id
    if not allow and parent.allow_multiple:
        several = session.scalar(
            scoped_columns(Membership, instance_id, Membership.student_id)
            .where(Membership.sibling_scope == siblings.scope)
            .group_by(Membership.student_id)
            .having(func.count() > 1)
            .limit(1)
        )
        if several is not None:
            raise Conflict(
                "allow_multiple: some students are in several of these groups; take them out of all but "
                "one first.",
                errors=[
                    FieldError(field="allow_multiple", rule="held_several", message="a student holds several")
                ],
            )
    session.execute(
        scoped_update(Membership, instance_id)
        .where(Membership.sibling_scope == siblings.scope)
        .values(exclusive=not allow)
    )
    parent.allow_multiple = allow


# What a learner sees ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """A self-enrolment group as one learner sees it now."""

    group: Group
    members: int
    waiting: int
    window: Window
    is_member: bool
    queue_position: int | None

    @property
    def state(self) -> str:
        """`open`, `full`, `notOpen` or `closed`."""
        return _state(self.group, self.members, self.window)


@dataclass(frozen=True, slots=True)
class Seats:
    """A self-enrolment group as its managers see it now: seats taken, the queue (its students'
    uids and names, first first), the window."""

    group: Group
    members: int
    waiting: int
    window: Window
    queue: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def state(self) -> str:
        """`open`, `full`, `notOpen` or `closed`."""
        return _state(self.group, self.members, self.window)


def _state(group: Group, members: int, window: Window) -> str:
    if window is not Window.OPEN:
        return str(window)
    return "open" if has_room(group, members) else "full"


def seats(
    session: Session, principal: Principal, *, siblings: Siblings[Module], now: datetime
) -> list[Seats]:
    """The groups under the parent that take self-enrolment, for its module's managers."""
    require_manager(session, principal, siblings.module)
    groups = list(
        session.scalars(_sibling_groups(siblings).where(Group.self_enrol.is_(True)).order_by(Group.id))
    )
    ids = [g.id for g in groups]
    instance_id = siblings.module.instance_id
    counts = member_counts(session, instance_id, ids)
    waiting = queue_lengths(session, instance_id, ids)
    queues: dict[int, list[tuple[str, str | None]]] = {g: [] for g in ids}
    rows = session.execute(
        scoped_columns(WaitlistEntry, instance_id, WaitlistEntry.group_id, Student.uid, Student.name)
        .join(Student, Student.id == WaitlistEntry.student_id)
        .where(WaitlistEntry.group_id.in_(ids))
        .order_by(WaitlistEntry.group_id, WaitlistEntry.id)
    )
    for group_id, uid, name in rows:
        queues[group_id].append((uid, name))
    return [Seats(g, counts[g.id], waiting[g.id], window_of(g, now), queues[g.id]) for g in groups]


def offers(session: Session, *, siblings: Siblings[Module], student_id: int, now: datetime) -> list[Offer]:
    """The groups under the parent that take self-enrolment, each as the learner sees it.

    Refused, saying which, when the learner is not on the module (or a guest not admitted).
    """
    module = siblings.module
    policy = policy_of(session, siblings)
    require_on_module(
        session,
        instance_id=module.instance_id,
        module_id=module.id,
        module_code=module.code,
        student_id=student_id,
        admit_guests=policy.admit_guests,
    )
    groups = list(
        session.scalars(_sibling_groups(siblings).where(Group.self_enrol.is_(True)).order_by(Group.id))
    )
    ids = [g.id for g in groups]
    counts = member_counts(session, module.instance_id, ids)
    waiting = queue_lengths(session, module.instance_id, ids)
    mine = set(
        session.scalars(
            scoped_columns(Membership, module.instance_id, Membership.group_id).where(
                Membership.student_id == student_id, Membership.group_id.in_(ids)
            )
        )
    )
    positions = _queue_positions(session, module.instance_id, student_id, ids)
    return [
        Offer(
            group=g,
            members=counts[g.id],
            waiting=waiting[g.id],
            window=window_of(g, now),
            is_member=g.id in mine,
            queue_position=positions.get(g.id),
        )
        for g in groups
    ]


@dataclass(frozen=True, slots=True)
class OpenToLearner:
    """The self-enrolment groups under one parent of a module, as a learner sees them."""

    module: Module
    parent: Group | None
    offers: list[Offer]


def learner_offers(session: Session, principal: Principal, *, now: datetime) -> list[OpenToLearner]:
    """Every set of self-enrolment groups open to a learner's key's student: in the modules they
    are on (and, as a guest, those whose policy admits guests), by module code, then parent."""
    student_id = principal.student_id
    if student_id is None:
        raise Forbidden("This page is a learner's: it lists the groups open to their own student.")
    instance_id = principal.instance_id
    modules = list(
        session.scalars(scoped(Module, instance_id).where(modules_readable(principal)).order_by(Module.code))
    )
    by_id = {m.id: m for m in modules}
    places = session.execute(
        scoped_columns(Group, instance_id, Group.module_id, Group.parent_group_id)
        .where(Group.module_id.in_(list(by_id)), Group.self_enrol.is_(True))
        .distinct()
    ).all()
    parent_ids = sorted({p for _, p in places if p is not None})
    parents = {g.id: g for g in session.scalars(scoped(Group, instance_id).where(Group.id.in_(parent_ids)))}
    found: list[OpenToLearner] = []
    for module_id, parent_id in sorted(places, key=lambda r: (by_id[r[0]].code, r[1] or 0)):
        module, parent = by_id[module_id], parents.get(parent_id) if parent_id is not None else None
        try:
            offered = offers(session, siblings=Siblings(module, parent), student_id=student_id, now=now)
        except Forbidden:
            continue  # a guest whose module's policy does not admit guests here
        if offered:
            found.append(OpenToLearner(module, parent, offered))
    return found


def _sibling_groups(siblings: Siblings[Module]) -> Any:
    return scoped(Group, siblings.instance_id).where(siblings.condition)


def _queue_positions(
    session: Session, instance_id: int, student_id: int, group_ids: Sequence[int]
) -> dict[int, int]:
    """Where the student stands (1 = next) in each queue of these groups they are in."""
    mine = aliased(WaitlistEntry)
    rows = session.execute(
        scoped_columns(WaitlistEntry, instance_id, WaitlistEntry.group_id, func.count())
        .join(mine, (mine.group_id == WaitlistEntry.group_id) & (WaitlistEntry.id <= mine.id))
        .where(mine.student_id == student_id, mine.group_id.in_(list(group_ids)))
        .group_by(WaitlistEntry.group_id)
    )
    return {group_id: position for group_id, position in rows}


# Joining, queueing, leaving ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enrolment:
    """What a join or a leave did.

    `status`: joined, queued, alreadyMember, alreadyQueued, left or leftQueue.
    """

    status: str
    group: Group
    members: int
    queue_position: int | None = None
    left_group: Group | None = None


def join(
    session: Session,
    *,
    group: Group,
    student_id: int,
    now: datetime,
    switch: bool = False,
    queue: bool = False,
) -> Enrolment:
    """Take a seat in the group for the student, or with `queue` a place in its waiting list when
    it is full. With `switch`, a learner in a sibling group leaves it for this one in the same
    transaction (their old seat goes to that group's queue); without it, that is refused."""
    siblings = _locked_siblings(session, group, student_id)
    instance_id = group.instance_id
    _require_self_enrol(group, now)
    scope, exclusive = siblings.scope, siblings.exclusive
    held = held_in_scope(session, instance_id=instance_id, student_id=student_id, scope=scope)
    members = member_counts(session, instance_id, [group.id])[group.id]
    if group.id in held:
        return Enrolment("alreadyMember", group, members)
    elsewhere = [g for g, is_exclusive in held.items() if is_exclusive] if exclusive else []
    if elsewhere and not switch:
        other = related_in_instance(session, Group, elsewhere[0], group.instance_id)
        name = other.name if other else str(elsewhere[0])
        raise Conflict(
            f"Refused (already in a group): the user is in {name!r} under the same parent, and may be "
            "in only one; send switch: true to move.",
            errors=[refusal("already_in_sibling", f"already in {name!r}")],
        )
    if not has_room(group, members):
        return _queue_or_refuse(session, group, student_id, scope, members, queue=queue)
    left = None
    if elsewhere:
        left = related_in_instance(session, Group, elsewhere[0], group.instance_id)
        if left is not None:
            _require_self_enrol(left, now)  # a switch leaves a group: within that group's window too
        session.execute(
            scoped_delete(Membership, instance_id).where(
                Membership.group_id == elsewhere[0], Membership.student_id == student_id
            )
        )
    take_seats(
        session, instance_id=instance_id, seats=[(group.id, student_id)], scope=scope, exclusive=exclusive
    )
    if left is not None:
        fill_from_queues(session, instance_id, [left.id])
    session.flush()
    # Under the lock only a switch's chain of promotions can also move someone out of this group.
    now_members = members + 1 if left is None else member_counts(session, instance_id, [group.id])[group.id]
    return Enrolment("joined", group, now_members, left_group=left)


def leave(session: Session, *, group: Group, student_id: int, now: datetime) -> Enrolment:
    """Take the student out of the group, or out of its waiting list; a seat freed goes to the
    first in the queue. A seat is given up only while the window is open; a place in the queue at
    any time."""
    _locked_siblings(session, group, student_id, check_module=False)
    instance_id = group.instance_id
    dequeued = session.execute(
        scoped_delete(WaitlistEntry, instance_id).where(
            WaitlistEntry.group_id == group.id, WaitlistEntry.student_id == student_id
        )
    ).rowcount  # type: ignore[attr-defined]
    if dequeued:
        return Enrolment("leftQueue", group, member_counts(session, instance_id, [group.id])[group.id])
    _require_self_enrol(group, now)
    removed = session.execute(
        scoped_delete(Membership, instance_id).where(
            Membership.group_id == group.id, Membership.student_id == student_id
        )
    ).rowcount  # type: ignore[attr-defined]
    if removed:
        fill_from_queues(session, instance_id, [group.id])
        session.flush()
        return Enrolment("left", group, member_counts(session, instance_id, [group.id])[group.id])
    raise NotFound(f"The user is neither in group {group.name!r} nor in its waiting list.")


def _locked_siblings(
    session: Session, group: Group, student_id: int, *, check_module: bool = True
) -> Siblings[Module]:
    """Lock the group's module, read the group and its parent again as they now are, and check the
    learner's standing; the group's siblings."""
    module = _module_of(session, group)
    lock_module(session, module)
    session.refresh(group)
    parent = related_in_instance(session, Group, group.parent_group_id, group.instance_id, refresh=True)
    siblings = Siblings(module=module, parent=parent)
    if check_module:
        require_on_module(
            session,
            instance_id=group.instance_id,
            module_id=module.id,
            module_code=module.code,
            student_id=student_id,
            admit_guests=policy_of(session, siblings).admit_guests,
        )
    return siblings


def _require_self_enrol(group: Group, now: datetime) -> None:
    if not group.self_enrol or group.group_type != GroupType.CLASS_GROUP:
        raise Forbidden(
            f"Refused (not self-enrol): group {group.name!r} does not take self-enrolment; ask a manager "
            "of its module.",
            errors=[refusal("not_self_enrol", "the group does not take self-enrolment")],
        )
    window = window_of(group, now)
    if window is Window.NOT_OPEN:
        opens = group.self_enrol_open_date.isoformat() if group.self_enrol_open_date else ""
        raise Forbidden(
            f"Refused (outside the window): self-enrolment in {group.name!r} opens at {opens}.",
            errors=[refusal("window_not_open", f"opens at {opens}")],
        )
    if window is Window.CLOSED:
        closed = group.self_enrol_close_date.isoformat() if group.self_enrol_close_date else ""
        raise Forbidden(
            f"Refused (outside the window): self-enrolment in {group.name!r} closed at {closed}.",
            errors=[refusal("window_closed", f"closed at {closed}")],
        )


def _queue_or_refuse(
    session: Session, group: Group, student_id: int, scope: str, members: int, *, queue: bool
) -> Enrolment:
    instance_id = group.instance_id
    if not (queue and group.waitlist):
        offer = (
            " It has a waiting list: send queue: true to wait for a seat."
            if group.waitlist
            else " It has no waiting list."
        )
        raise Conflict(
            f"Refused (full): group {group.name!r} holds {members} of {group.max_user}.{offer}",
            errors=[refusal("full", f"{members} of {group.max_user} seats taken")],
        )
    existing = session.scalar(
        scoped_columns(WaitlistEntry, instance_id, WaitlistEntry.id).where(
            WaitlistEntry.group_id == group.id, WaitlistEntry.student_id == student_id
        )
    )
    status = "alreadyQueued"
    if existing is None:
        status = "queued"
        session.add(
            WaitlistEntry(
                instance_id=instance_id, group_id=group.id, student_id=student_id, sibling_scope=scope
            )
        )
        session.flush()
    position = _queue_positions(session, instance_id, student_id, [group.id])[group.id]
    return Enrolment(status, group, members, queue_position=position)


def add_by_manager(session: Session, group: Group, student_ids: Sequence[int]) -> list[int]:
    """A manager puts students in a module's group, under the module's lock: they leave the
    waiting lists of its parent, as a learner who takes a seat does. The ids newly added."""
    module = _module_of(session, group)
    lock_module(session, module)
    added = groups_service.add_members(
        session, instance_id=group.instance_id, group_id=group.id, student_ids=student_ids
    )
    scope, _ = sibling_scope(session, group)
    drop_queues(session, instance_id=group.instance_id, scope=scope, student_ids=added)
    return added


def remove_by_manager(session: Session, group: Group, student_id: int) -> None:
    """A manager takes a student out of a group; in a module's group, under the module's lock, and
    the seat goes to the first in its queue."""
    if group.module_id is not None:
        lock_module(session, _module_of(session, group))
    groups_service.remove_member(
        session, instance_id=group.instance_id, group_id=group.id, student_id=student_id
    )
    if group.module_id is not None:
        fill_from_queues(session, group.instance_id, [group.id])


def members_set_by_manager(session: Session, siblings: Siblings[Module], student_ids: Sequence[int]) -> None:
    """After a manager set groups' members under a parent (the module locked): the students
    placed leave the queues there, and every seat left free goes to the queue."""
    drop_queues(session, instance_id=siblings.instance_id, scope=siblings.scope, student_ids=student_ids)
    group_ids = list(session.scalars(_sibling_groups(siblings).with_only_columns(Group.id)))
    fill_from_queues(session, siblings.instance_id, group_ids)


def fill_from_queues(session: Session, instance_id: int, group_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Give each free seat of these groups to the first in its queue; a learner moved out of a
    sibling group frees that seat in turn. Returns the (group id, student id) seats given.

    Runs under the module's lock. A queued learner no longer on the module is taken off the queue.
    """
    given: list[tuple[int, int]] = []
    pending = deque(group_ids)
    while pending:
        group = related_in_instance(session, Group, pending.popleft(), instance_id)
        if group is None or group.module_id is None:
            continue
        scope, exclusive = sibling_scope(session, group)
        policy = policy_for(session, instance_id, scope)
        admit_guests = policy is not None and policy.admit_guests
        while has_room(group, member_counts(session, instance_id, [group.id])[group.id]):
            entry = session.scalar(
                scoped(WaitlistEntry, instance_id)
                .where(WaitlistEntry.group_id == group.id)
                .order_by(WaitlistEntry.id)
                .limit(1)
            )
            if entry is None:
                break
            student_id = entry.student_id
            session.delete(entry)
            session.flush()
            kinds = standing(
                session, instance_id=instance_id, module_id=group.module_id, student_id=student_id
            )
            held = held_in_scope(session, instance_id=instance_id, student_id=student_id, scope=scope)
            if not admitted(kinds, admit_guests=admit_guests) or group.id in held:
                logger.info("waiting-list entry of student %s for group %s dropped", student_id, group.id)
                continue
            if exclusive:
                for other in [g for g, is_exclusive in held.items() if is_exclusive]:
                    session.execute(
                        scoped_delete(Membership, instance_id).where(
                            Membership.group_id == other, Membership.student_id == student_id
                        )
                    )
                    pending.append(other)
            take_seats(
                session,
                instance_id=instance_id,
                seats=[(group.id, student_id)],
                scope=scope,
                exclusive=exclusive,
            )
            given.append((group.id, student_id))
    session.flush()
    return given


def _module_of(session: Session, group: Group) -> Module:
    if group.module_id is None:
        raise Forbidden(
            f"Refused (not self-enrol): group {group.id} is not a module's group; self-enrolment is for "
            "a module's class groups.",
            errors=[refusal("not_self_enrol", "not a module's group")],
        )
    module = session.scalar(scoped(Module, group.instance_id).where(Module.id == group.module_id))
    assert module is not None  # a group's module is in the group's instance (foreign key)
    return module
