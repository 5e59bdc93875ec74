"""Who may view a group and who may manage it: the four `groupAccess` levels, in one place.

An instance's own groups (Domoscio's: no module) belong to the whole instance: every key views
them, platform keys that may write manage them. A module's groups follow their `groupAccess`:

- the module's managers (admin keys; the module's creator and its staff, with a key that may
  write; never a learner's key: `permissions.manages_module`) view and manage every group of the
  module;
- 0 staff only: nobody else sees the group;
- 1 members view: a learner (a key whose user is linked to a student) sees the groups they are in;
- 2 module view: as 1, and every learner on the module's roster or guests sees it, and so does
  every key of the instance that is not a learner's;
- 3 members manage: as 2, and a learner in the group may set its members, with a key that may write.

Seeing a group means seeing it and its members (of whom a learner sees the names only:
`permissions.StudentFields`). Calls on a group the caller may not see, or may not change, answer 403.
The kinds of key and everything else they may do are in `studentgroups.permissions`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import Session

from studentgroups import permissions
from studentgroups.auth import Principal
from studentgroups.errors import Forbidden
from studentgroups.groups.service import get_group, no_such_students
from studentgroups.tables.group_types import GroupAccess
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.instances import Role
from studentgroups.tables.modules import Module
from studentgroups.tenancy import scoped, scoped_columns


def _groups_of(principal: Principal, student_id: int) -> Any:
    return scoped_columns(Membership, principal.instance_id, Membership.group_id).where(
        Membership.student_id == student_id
    )


def visible(principal: Principal, *, manages_module: bool | None = None) -> ColumnElement[bool]:
    """A condition on `Group` that holds for the groups the caller may see.

    `manages_module`, when the caller already knows it for the one module a query is about,
    saves the subquery of managed modules.
    """
    learner = principal.student_id
    if manages_module or (principal.role == Role.ADMIN and learner is None):
        return true()
    managed: ColumnElement[bool] = (
        false()
        if manages_module is False or learner is not None
        else Group.module_id.in_(permissions.managed_modules(principal))
    )
    if learner is None:
        by_level: ColumnElement[bool] = Group.group_access >= GroupAccess.MODULE_VIEW
    else:
        by_level = or_(
            (Group.group_access >= GroupAccess.MODULE_VIEW)
            & Group.module_id.in_(permissions.modules_of_student(principal, learner)),
            (Group.group_access >= GroupAccess.MEMBERS_VIEW) & Group.id.in_(_groups_of(principal, learner)),
        )
    return or_(Group.module_id.is_(None), managed, by_level)


def _module_of(session: Session, group: Group) -> Module:
    module = session.scalar(scoped(Module, group.instance_id).where(Module.id == group.module_id))
    assert module is not None  # a group's module is in the group's instance (foreign key)
    return module


def _is_member(session: Session, principal: Principal, group: Group) -> bool:
    if principal.student_id is None:
        return False
    found = session.scalar(
        scoped_columns(Membership, principal.instance_id, Membership.group_id).where(
            Membership.group_id == group.id, Membership.student_id == principal.student_id
        )
    )
    return found is not None


def can_view(session: Session, principal: Principal, group: Group) -> bool:
    """Whether the caller may see the group and its members."""
    if group.module_id is None or (principal.role == Role.ADMIN and principal.student_id is None):
        return True
    stmt = scoped_columns(Group, principal.instance_id, Group.id).where(
        Group.id == group.id, visible(principal)
    )
    return session.scalar(stmt) is not None


def viewable_sub_groups(session: Session, principal: Principal, parent: Group) -> list[Group]:
    """The parent's sub-groups the caller may see (`can_view` of each), by id, in one query."""
    stmt = scoped(Group, principal.instance_id).where(Group.parent_group_id == parent.id).order_by(Group.id)
    if not (principal.role == Role.ADMIN and principal.student_id is None):
        stmt = stmt.where(or_(Group.module_id.is_(None), visible(principal)))
    return list(session.scalars(stmt))


def require_view(session: Session, principal: Principal, group: Group) -> None:
    """Forbidden unless the caller may see the group."""
    if not can_view(session, principal, group):
        raise Forbidden(
            f"Group {group.id} is not open to this key's user (groupAccess {group.group_access}); "
            "ask a manager of its module."
        )


def require_manage(session: Session, principal: Principal, group: Group, *, membership: bool) -> None:
    """Forbidden unless the caller may change the group (`membership`: only who is in it).

    Keys that may not write never change anything. A module's group is changed by the module's
    managers, and its membership also by its own members when its `groupAccess` is 3. A
    learner's key changes nothing else, an instance's own groups included.
    """
    permissions.require_writer(principal)
    learner = principal.student_id is not None
    if group.module_id is None and not learner:
        return
    if group.module_id is not None and permissions.manages_module(
        session, principal, _module_of(session, group)
    ):
        return
    if (
        membership
        and group.module_id is not None
        and group.group_access == GroupAccess.MEMBERS_MANAGE
        and _is_member(session, principal, group)
    ):
        return
    if group.module_id is None:
        raise Forbidden(permissions.LEARNER_REFUSAL)
    what = "its members" if membership else "it"
    raise Forbidden(
        f"This key's user may not change {what}: group {group.id} belongs to a module it does not "
        "manage" + (" and is not open to its members (groupAccess 3)." if membership else ".")
    )


def require_manage_members(
    session: Session, principal: Principal, module: Module, groups: Sequence[Group]
) -> bool:
    """Forbidden unless the caller may set the members of every group; True when it manages the module.

    One query for all the groups: a caller who does not manage the module must be a member of
    each of them, and each must be open to its members (groupAccess 3).
    """
    permissions.require_writer(principal)
    if permissions.manages_module(session, principal, module):
        return True
    open_to_caller: set[int] = set()
    if principal.student_id is not None:
        open_to_caller = set(
            session.scalars(
                scoped_columns(Membership, principal.instance_id, Membership.group_id)
                .join(Group, Group.id == Membership.group_id)
                .where(
                    Membership.student_id == principal.student_id,
                    Membership.group_id.in_([g.id for g in groups]),
                    Group.group_access == GroupAccess.MEMBERS_MANAGE,
                )
            )
        )
    closed = [g for g in groups if g.id not in open_to_caller]
    if closed:
        raise Forbidden(
            f"This key's user does not manage module {module.code}, and group {closed[0].name!r} is not "
            "open to it: only a group's own members may set its members, when its groupAccess is 3."
        )
    return False


def require_nameable(
    session: Session, principal: Principal, group: Group, student_ids: Sequence[int]
) -> None:
    """A learner who sets a group's members names only students of its module (roster or guests):
    any other id answers as a missing student does, so that a learner never learns who exists."""
    if principal.student_id is None or group.module_id is None:
        return
    on_module = set(
        session.scalars(
            scoped_columns(Membership, principal.instance_id, Membership.student_id)
            .join(Group, Group.id == Membership.group_id)
            .where(
                Group.module_id == group.module_id,
                Group.group_type.in_(permissions.ROSTER_TYPES),
                Membership.student_id.in_(list(student_ids)),
            )
        )
    )
    missing = sorted(set(student_ids) - on_module)
    if missing:
        raise no_such_students(missing)


def viewable_group(session: Session, principal: Principal, group_id: int) -> Group:
    """The group, if it is in the caller's instance (else NotFound) and the caller may see it."""
    group = get_group(session, instance_id=principal.instance_id, group_id=group_id)
    require_view(session, principal, group)
    return group


def manageable_group(session: Session, principal: Principal, group_id: int, *, membership: bool) -> Group:
    """The group, if it is in the caller's instance (else NotFound) and the caller may change it."""
    group = get_group(session, instance_id=principal.instance_id, group_id=group_id)
    require_manage(session, principal, group, membership=membership)
    return group
