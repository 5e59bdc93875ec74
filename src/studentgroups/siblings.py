"""The groups under one parent: one concept for Randomise, formations, self-enrolment and late
placement (search filters by the same parent, `class_parent`).

A parent is a group (its sub-groups are siblings) or a module's root (its root class groups).
Every membership carries its siblings' scope (`parent_scope`, `module_root_scope`, or the
instance's root for Domoscio's groups), so "a student holds at most one of them" is one unique
index; writes on the groups under a parent take one lock (`lock_module`, `lock_parent`), so a
count read is the count written against. `Siblings` names a module's class groups under one
parent, as the LumiNUS calls and self-enrolment address them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from studentgroups.errors import BadRequest
from studentgroups.lookup import find_group_by_uuid
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import ROOT_SCOPE, Group
from studentgroups.tables.modules import Module
from studentgroups.tenancy import scoped, scoped_columns


def under_parent(module_id: int | None, parent_group_id: int | None) -> ColumnElement[bool]:
    """A condition on `Group`: the groups under a parent group, or a module's root class groups."""
    if parent_group_id is not None:
        return Group.parent_group_id == parent_group_id
    return (
        (Group.module_id == module_id)
        & Group.parent_group_id.is_(None)
        & (Group.group_type == GroupType.CLASS_GROUP)
    )


def sibling_scope(session: Session, group: Group) -> tuple[str, bool]:
    """The set of groups that share this group's parent, and whether a student may be in only one.

    Sub-groups share their parent group. A module's root groups share the module, kind by kind
    (one Tutorial and one Lab group, but never two root class groups). Domoscio's groups (no
    module, no parent) share the instance's root.
    """
    if group.parent_group_id is not None:
        parent = scoped_columns(Group, group.instance_id, Group.allow_multiple)
        allow_multiple = session.scalar(parent.where(Group.id == group.parent_group_id))
        return parent_scope(group.parent_group_id), not allow_multiple
    if group.module_id is not None:
        return module_root_scope(group.module_id, group.group_type), True
    return ROOT_SCOPE, True


def parent_scope(parent_group_id: int) -> str:
    """The sibling scope of a parent group's sub-groups."""
    return f"group:{parent_group_id}"


def module_root_scope(module_id: int, group_type: int) -> str:
    """The sibling scope of a module's root groups of one type."""
    return f"module:{module_id}:type:{group_type}"


ModuleOrNone_co = TypeVar("ModuleOrNone_co", bound=Module | None, covariant=True)


@dataclass(frozen=True, slots=True)
class Siblings(Generic[ModuleOrNone_co]):
    """The groups under one parent: a parent group's sub-groups, or (no parent) a module's root
    class groups. What Randomise deals into, a formation forms and undoes, self-enrolment's policy
    and seats apply to, late enrollees are placed in, and search filters by. `targets` are the
    groups themselves, once read and checked (`siblings_under`, `formations.service.place_under`).

    A module's class groups always have their module (`Siblings[Module]`); a Domoscio group's
    sub-groups may have none (`Siblings[Module | None]`).
    """

    module: ModuleOrNone_co
    parent: Group | None
    targets: list[Group] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.module is None and self.parent is None:
            raise ValueError("Siblings need a parent group or a module")

    @property
    def instance_id(self) -> int:
        """The tenant the groups belong to."""
        if self.module is not None:
            return self.module.instance_id
        assert self.parent is not None  # __post_init__
        return self.parent.instance_id

    @property
    def module_id(self) -> int | None:
        """The module the groups are in, if any."""
        if self.module is not None:
            return self.module.id
        assert self.parent is not None  # __post_init__
        return self.parent.module_id

    @property
    def parent_id(self) -> int | None:
        """The parent group's id (None: a module's root)."""
        return self.parent.id if self.parent is not None else None

    @property
    def scope(self) -> str:
        """The sibling scope every membership in these groups carries."""
        if self.parent is not None:
            return parent_scope(self.parent.id)
        assert self.module is not None  # __post_init__
        return module_root_scope(self.module.id, GroupType.CLASS_GROUP)

    @property
    def condition(self) -> ColumnElement[bool]:
        """A condition on `Group`: the groups themselves (`under_parent`)."""
        return under_parent(self.module_id, self.parent_id)

    @property
    def exclusive(self) -> bool:
        """Whether a student may hold only one of these groups (at a module's root, always)."""
        return self.parent is None or not self.parent.allow_multiple

    def lock(self, session: Session) -> None:
        """Serialise the writes on these groups (`lock_parent`): a second save or undo waits,
        then sees the first whole."""
        lock_parent(
            session, instance_id=self.instance_id, module_id=self.module_id, parent_group_id=self.parent_id
        )

    def group_ids(self, session: Session) -> list[int]:
        """Every group under the parent as the database has it now (`targets` aside)."""
        stmt = scoped_columns(Group, self.instance_id, Group.id).where(self.condition)
        return list(session.scalars(stmt))


def class_parent(session: Session, module: Module, parent_uuid: uuid.UUID | None) -> Group | None:
    """The parent a call names: a class group of the module (rule 3), or None for the root."""
    if parent_uuid is None:
        return None
    parent = find_group_by_uuid(
        session, instance_id=module.instance_id, group_uuid=parent_uuid, field="parent_group_id"
    )
    if parent.module_id != module.id:
        raise BadRequest(f"Parent group {parent_uuid} is not a group of module {module.code}.")
    if parent.group_type != GroupType.CLASS_GROUP:
        raise BadRequest(
            f"Parent group {parent.name!r} is a {GroupType(parent.group_type).display_name}, "
            "not a class group: class groups only."
        )
    return parent


def siblings_under(session: Session, module: Module, parent: Group | None) -> Siblings[Module]:
    """The class groups under a parent (or the module's root), checked against rules 1-3."""
    stmt = scoped(Group, module.instance_id).where(Siblings(module, parent).condition)
    groups = list(session.scalars(stmt.order_by(Group.id)))
    others = [g for g in groups if g.group_type != GroupType.CLASS_GROUP]
    if others:
        raise BadRequest(
            f"Group {others[0].name!r} under that parent is a "
            f"{GroupType(others[0].group_type).display_name}, not a class group: class groups only."
        )
    if not groups:
        where = f"under {parent.name!r}" if parent else f"at the root of module {module.code}"
        raise BadRequest(f"There are no class groups {where} to put students in.")
    with_children = session.scalar(
        scoped_columns(Group, module.instance_id, Group.parent_group_id)
        .where(Group.parent_group_id.in_([g.id for g in groups]))
        .limit(1)
    )
    if with_children is not None:
        name = next(g.name for g in groups if g.id == with_children)
        raise BadRequest(f"Group {name!r} has sub-groups: the groups may not have sub-groups.")
    return Siblings(module=module, parent=parent, targets=groups)


def lock_module(session: Session, module: Module) -> None:
    """Serialise grouping writes on one module: a second save waits, then sees the first whole.

    Randomise, setting groups' users, formations and every self-enrolment change take it, so a
    join never counts a group's members while another write is changing them.
    """
    lock_parent(session, instance_id=module.instance_id, module_id=module.id, parent_group_id=None)


def lock_parent(
    session: Session, *, instance_id: int, module_id: int | None, parent_group_id: int | None
) -> None:
    """The lock of the groups under one parent: the module's row when they are a module's, else
    the parent group's (a Domoscio group's sub-groups). Held until the transaction ends."""
    if module_id is not None:
        stmt = scoped_columns(Module, instance_id, Module.id).where(Module.id == module_id)
    elif parent_group_id is not None:
        stmt = scoped_columns(Group, instance_id, Group.id).where(Group.id == parent_group_id)
    else:
        return
    session.execute(stmt.with_for_update())
