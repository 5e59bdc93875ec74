"""The rules of modules, their rosters and guests, and who manages them. Flushes, never commits."""

from __future__ import annotations

import uuid as uuid_module
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, func, or_
from sqlalchemy.orm import Session

from studentgroups.auth import Principal
from studentgroups.errors import BadRequest, Conflict, FieldError, Forbidden, NotFound
from studentgroups.groups.service import add_members, member_count, write_memberships_in_scopes
from studentgroups.late_enrollees import LatePlacement, place_late_enrollees
from studentgroups.listing import Page, uuid_text
from studentgroups.lookup import chunk_size, one_of, student_ids_by_uid
from studentgroups.permissions import manages_module, modules_readable, require_platform_writer
from studentgroups.siblings import module_root_scope
from studentgroups.students.service import upsert_students
from studentgroups.tables.enrolment import EnrolmentPolicy
from studentgroups.tables.group_types import GroupAccess, GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.modules import Module, ModuleStaff
from studentgroups.tables.students import Student
from studentgroups.tenancy import get_in_instance, paginate, scoped, scoped_columns, scoped_delete

ROSTER_NAME = "Student Roster"
GUEST_NAME = "Guest Group"


@dataclass(frozen=True, slots=True)
class ModuleView:
    """A module with the ids of its roster and (first) guest group."""

    module: Module
    roster_group_id: int
    guest_group_id: int


def create_module(
    session: Session,
    *,
    instance_id: int,
    code: str,
    name: str,
    description: str | None,
    creator_id: int | None,
) -> ModuleView:
    """A new module with its Student Roster and a Guest Group."""
    (view,) = create_modules(
        session, instance_id=instance_id, modules=[NewModule(code, name, description)], creator_id=creator_id
    )
    return view


@dataclass(frozen=True, slots=True)
class NewModule:
    """A module to make: its code, name and description, and where it comes from (`source_id`)."""

    code: str
    name: str
    description: str | None = None
    source_id: str | None = None


def create_modules(
    session: Session, *, instance_id: int, modules: Sequence[NewModule], creator_id: int | None
) -> list[ModuleView]:
    """New modules, each with its Student Roster and a Guest Group, in the order given: a code
    another module of the instance holds is a Conflict. Two batched inserts, however many."""
    codes = [m.code for m in modules]
    size = chunk_size(session)
    for start in range(0, len(codes), size):
        taken = session.execute(
            scoped_columns(Module, instance_id, Module.code, Module.id).where(
                one_of(session, Module.code, codes[start : start + size], String)
            )
        ).first()
        if taken is not None:
            raise Conflict(
                f"Module code {taken.code!r} is already module {taken.id}'s.",
                errors=[FieldError(field="code", rule="unique", message="already taken in this instance")],
            )
    made = [
        Module(
            instance_id=instance_id,
            code=m.code,
            name=m.name,
            description=m.description,
            source_id=m.source_id,
            creator_id=creator_id,
        )
        for m in modules
    ]
    session.add_all(made)
    session.flush()
    groups = [
        [
            Group(
                instance_id=instance_id,
                module_id=module.id,
                name=name,
                creator_id=creator_id,
                group_type=group_type,
                group_access=GroupAccess.STAFF_ONLY,
            )
            for name, group_type in (
                (ROSTER_NAME, GroupType.STUDENT_ROSTER),
                (GUEST_NAME, GroupType.GUEST_GROUP),
            )
        ]
        for module in made
    ]
    session.add_all([g for pair in groups for g in pair])
    session.flush()
    return [
        ModuleView(module, roster.id, guests.id)
        for module, (roster, guests) in zip(made, groups, strict=True)
    ]


def views_of(session: Session, modules: Sequence[Module]) -> list[ModuleView]:
    """The modules with their roster and (first) guest group, in one query for all of them."""
    if not modules:
        return []
    rows = session.execute(
        scoped_columns(Group, modules[0].instance_id, Group.module_id, Group.id, Group.group_type)
        .where(
            Group.module_id.in_([m.id for m in modules]),
            Group.parent_group_id.is_(None),
            Group.group_type.in_([GroupType.STUDENT_ROSTER, GroupType.GUEST_GROUP]),
        )
        .order_by(Group.id.desc())  # the first-made group of each kind wins below
    ).all()
    first: dict[tuple[int, int], int] = {(r.module_id, r.group_type): r.id for r in rows}
    return [
        ModuleView(m, first[(m.id, GroupType.STUDENT_ROSTER)], first[(m.id, GroupType.GUEST_GROUP)])
        for m in modules
    ]


def _view(session: Session, module: Module) -> ModuleView:
    return views_of(session, [module])[0]


def get_module(session: Session, *, instance_id: int, module_id: int) -> ModuleView:
    """The module, or NotFound."""
    return _view(session, get_in_instance(session, Module, module_id, instance_id, what="module"))


def get_module_by_uuid(session: Session, *, instance_id: int, module_uuid: uuid_module.UUID) -> Module:
    """The module with this LumiNUS `resourceID`, or NotFound."""
    module = session.scalar(scoped(Module, instance_id).where(Module.uuid == module_uuid))
    if module is None:
        raise NotFound(f"No module (resource) {module_uuid} in this instance.")
    return module


def list_modules(
    session: Session,
    *,
    instance_id: int,
    page: Page,
    readable: ColumnElement[bool] | None = None,
    search: str = "",
) -> tuple[list[ModuleView], int]:
    """One page of the instance's modules that the caller reads (`permissions.modules_readable`),
    by id; `search`: those whose code or name holds it (any case)."""
    stmt = scoped(Module, instance_id).order_by(Module.id)
    if readable is not None:
        stmt = stmt.where(readable)
    if search:
        stmt = stmt.where(
            or_(
                Module.code.icontains(search, autoescape=True), Module.name.icontains(search, autoescape=True)
            )
        )
    rows, total = paginate(session, stmt, page)
    return views_of(session, [row[0] for row in rows]), total


def get_readable_module(session: Session, principal: Principal, module_id: int) -> ModuleView:
    """The module, or NotFound: also when the caller may not read it (a learner not on it)."""
    module = session.scalar(
        scoped(Module, principal.instance_id).where(Module.id == module_id, modules_readable(principal))
    )
    if module is None:
        raise NotFound(f"No module with id {module_id} in this instance.")
    return _view(session, module)


def update_module(
    session: Session, *, instance_id: int, module_id: int, changes: dict[str, Any]
) -> ModuleView:
    """Apply the fields sent, and only those."""
    view = get_module(session, instance_id=instance_id, module_id=module_id)
    if "code" in changes:
        taken = session.scalar(
            scoped_columns(Module, instance_id, Module.id).where(
                Module.code == changes["code"], Module.id != module_id
            )
        )
        if taken is not None:
            raise Conflict(
                f"Module code {changes['code']!r} is already module {taken}'s.",
                errors=[FieldError(field="code", rule="unique", message="already taken in this instance")],
            )
    for field, value in changes.items():
        setattr(view.module, field, value)
    session.flush()
    return view


def delete_module(session: Session, *, instance_id: int, module_id: int, force: bool) -> ModuleView:
    """Delete a module with its groups; refused while any of its groups has members, unless `force`."""
    view = get_module(session, instance_id=instance_id, module_id=module_id)
    group_ids = scoped_columns(Group, instance_id, Group.id).where(Group.module_id == module_id)
    members = session.scalar(
        scoped_columns(Membership, instance_id, func.count()).where(Membership.group_id.in_(group_ids))
    )
    if members and not force:
        raise Conflict(
            f"Module {module_id}'s groups hold {members} membership(s); send ?force=true to delete the "
            "module, its groups and those memberships (the students are kept)."
        )
    session.execute(scoped_delete(Membership, instance_id).where(Membership.group_id.in_(group_ids)))
    # Sub-groups first: a parent may not go while a child refers to it.
    while True:
        parents = scoped_columns(Group, instance_id, Group.parent_group_id).where(
            Group.parent_group_id.is_not(None)
        )
        leaves = scoped_delete(Group, instance_id).where(
            Group.module_id == module_id, Group.id.not_in(parents)
        )
        if session.execute(leaves).rowcount == 0:  # type: ignore[attr-defined]
            break
    session.delete(view.module)
    session.flush()
    return view


def _student_ids_for(
    session: Session, instance_id: int, student_ids: Sequence[int] | None, uids: Sequence[str] | None
) -> list[int]:
    if uids is None:
        return list(student_ids or [])
    found = student_ids_by_uid(session, instance_id=instance_id, uids=uids)
    missing = [u for u in uids if u not in found]
    if missing:
        raise NotFound(
            f"No student with uid {', '.join(map(repr, missing[:20]))} in this instance.",
            errors=[
                FieldError(field="uids", rule="not_found", message=f"no student {u!r}") for u in missing[:100]
            ],
        )
    return [found[u] for u in uids]


def roster_group_id(view: ModuleView, kind: str) -> int:
    """The group behind a module's `roster` or `guests`."""
    return view.roster_group_id if kind == "roster" else view.guest_group_id


def roster_size(session: Session, view: ModuleView, kind: str) -> int:
    """How many students a module's `roster` or `guests` holds."""
    return member_count(session, instance_id=view.module.instance_id, group_id=roster_group_id(view, kind))


def roster_sizes(session: Session, views: Sequence[ModuleView]) -> dict[int, int]:
    """How many students each module's roster holds (module id -> count), in one query."""
    if not views:
        return {}
    by_group = {v.roster_group_id: v.module.id for v in views}
    rows = session.execute(
        scoped_columns(Membership, views[0].module.instance_id, Membership.group_id, func.count())
        .where(Membership.group_id.in_(list(by_group)))
        .group_by(Membership.group_id)
    )
    sizes = dict.fromkeys(by_group.values(), 0)
    sizes.update({by_group[group_id]: count for group_id, count in rows})
    return sizes


@dataclass(frozen=True, slots=True)
class RosterAdd:
    """Who was newly put on a roster (or guest group), and where the late enrollees among them went."""

    added: list[int]
    placement: LatePlacement


def add_to_roster_group(
    session: Session,
    *,
    module: Module,
    group_id: int,
    guests: bool,
    student_ids: Sequence[int],
    checked: bool = False,
) -> RosterAdd:
    """Put students in one of the module's roster groups, all or none, and place the newcomers
    where a policy places late enrollees. Every path that adds to a roster comes through here
    (`checked`: the ids were read or made in this transaction, `groups.service.add_members`)."""
    added = add_members(
        session, instance_id=module.instance_id, group_id=group_id, student_ids=student_ids, checked=checked
    )
    return RosterAdd(added, place_late_enrollees(session, module=module, student_ids=added, guests=guests))


def add_to_rosters(
    session: Session, *, additions: Mapping[int, tuple[ModuleView, Sequence[int]]]
) -> dict[int, RosterAdd]:
    """Put students on the rosters of many modules at once (an import's: the ids read or made in
    its transaction), all or none, by the rules of `add_to_roster_group`: a student already on a
    roster is counted, not added; one in another group of the roster's exclusive set is a
    Conflict; the newcomers are placed where a module's policy places late enrollees. One read
    of the rosters' sets and one write for all of them, whatever the number of modules."""
    if not additions:
        return {}
    instance_id = next(iter(additions.values()))[0].module.instance_id
    scope_of = {
        view.roster_group_id: module_root_scope(view.module.id, GroupType.STUDENT_ROSTER)
        for view, _ in additions.values()
    }
    held: dict[str, dict[int, int]] = {}
    scopes = list(scope_of.values())
    size = chunk_size(session)
    for start in range(0, len(scopes), size):
        rows = session.connection().execute(
            scoped_columns(
                Membership, instance_id, Membership.sibling_scope, Membership.student_id, Membership.group_id
            ).where(one_of(session, Membership.sibling_scope, scopes[start : start + size], String))
        )
        for scope, student_id, group_id in rows:
            held.setdefault(scope, {})[student_id] = group_id
    new_rows: list[tuple[int, int, str]] = []
    added: dict[int, list[int]] = {}
    clashes: list[str] = []
    for module_id, (view, student_ids) in additions.items():
        scope = scope_of[view.roster_group_id]
        in_scope = held.get(scope, {})
        clashes += [
            f"student {s} is in group {in_scope[s]}"
            for s in student_ids
            if s in in_scope and in_scope[s] != view.roster_group_id
        ]
        added[module_id] = [s for s in dict.fromkeys(student_ids) if s not in in_scope]
        new_rows += [(view.roster_group_id, s, scope) for s in added[module_id]]
    if clashes:
        raise Conflict(f"A student may be in only one of these sibling groups: {', '.join(clashes[:20])}.")
    write_memberships_in_scopes(session, new_rows, instance_id=instance_id, exclusive=True)
    placing = set(
        session.scalars(
            scoped_columns(EnrolmentPolicy, instance_id, EnrolmentPolicy.module_id).where(
                EnrolmentPolicy.module_id.in_(list(additions)), EnrolmentPolicy.place_late_enrollees.is_(True)
            )
        )
    )
    return {
        module_id: RosterAdd(
            added[module_id],
            place_late_enrollees(session, module=view.module, student_ids=added[module_id])
            if module_id in placing
            else LatePlacement(),
        )
        for module_id, (view, _) in additions.items()
    }


def add_to_module(
    session: Session,
    *,
    instance_id: int,
    module_id: int,
    kind: str,
    student_ids: Sequence[int] | None = None,
    uids: Sequence[str] | None = None,
) -> RosterAdd:
    """Put students on the module's roster or guest group; the ids newly added, and where they went."""
    view = get_module(session, instance_id=instance_id, module_id=module_id)
    ids = _student_ids_for(session, instance_id, student_ids, uids)
    return add_to_roster_group(
        session,
        module=view.module,
        group_id=roster_group_id(view, kind),
        guests=kind == "guests",
        student_ids=ids,
    )


def add_students_to_module(
    session: Session,
    *,
    instance_id: int,
    module_id: int,
    kind: str,
    students: Sequence[tuple[str, Mapping[str, Any]]],
    categories: Mapping[str, Sequence[str]] | None = None,
) -> RosterAdd:
    """Put students, by uid with attributes, on the module's roster or guest group, all or none:
    a uid the instance lacks is created with its attributes, a known one has them set beside the
    ones it has. A uid given twice, or a value of a declared category not among its values, is a
    BadRequest naming the student by its place (`students.3.attributes.gender`)."""
    view = get_module(session, instance_id=instance_id, module_id=module_id)
    problems: list[FieldError] = []
    place_of: dict[str, int] = {}
    for place, (uid, attributes) in enumerate(students):
        if uid in place_of:
            message = f"the uid of students.{place_of[uid]} too"
            problems.append(FieldError(field=f"students.{place}.uid", rule="unique", message=message))
        place_of.setdefault(uid, place)
        for name, values in (categories or {}).items():
            if name in attributes and attributes[name] not in values:
                problems.append(
                    FieldError(
                        field=f"students.{place}.attributes.{name}",
                        rule="unknown_value",
                        message=f"{attributes[name]!r} is not one of {', '.join(values)}",
                    )
                )
    if problems:
        raise BadRequest(
            f"{len(problems)} problem(s) with the students; nothing was written.", errors=problems
        )
    ids = upsert_students(
        session,
        instance_id=instance_id,
        students=[{"uid": uid, "attributes": dict(attributes)} for uid, attributes in students],
        known=student_ids_by_uid(session, instance_id=instance_id, uids=list(place_of)),
    )
    return add_to_roster_group(
        session,
        module=view.module,
        group_id=roster_group_id(view, kind),
        guests=kind == "guests",
        student_ids=[ids[uid] for uid, _ in students],
    )


def remove_from_module(
    session: Session,
    *,
    instance_id: int,
    module_id: int,
    kind: str,
    student_ids: Sequence[int] | None = None,
    uids: Sequence[str] | None = None,
) -> int:
    """Take students off the module's roster or guest group; returns how many were on it."""
    view = get_module(session, instance_id=instance_id, module_id=module_id)
    ids = _student_ids_for(session, instance_id, student_ids, uids)
    removed = 0
    for start in range(0, len(ids), 5_000):
        result = session.execute(
            scoped_delete(Membership, instance_id).where(
                Membership.group_id == roster_group_id(view, kind),
                Membership.student_id.in_(ids[start : start + 5_000]),
            )
        )
        removed += result.rowcount  # type: ignore[attr-defined]
    return removed


def is_manager(session: Session, principal: Principal, module: Module) -> bool:
    """Admin keys, the module's creator and its staff manage the module's groups (never a
    learner's key): `permissions.manages_module`."""
    return manages_module(session, principal, module)


def require_manager(session: Session, principal: Principal, module: Module) -> None:
    """Forbidden unless the key's user manages the module (read-only keys never do)."""
    require_platform_writer(principal)
    if not is_manager(session, principal, module):
        raise Forbidden(f"This key's user does not manage module {module.code}; ask its creator or an admin.")


def get_managed_module(session: Session, principal: Principal, module_id: int) -> ModuleView:
    """The module, if the key's user manages it: NotFound, else Forbidden, else the module."""
    view = get_module(session, instance_id=principal.instance_id, module_id=module_id)
    require_manager(session, principal, view.module)
    return view


def set_staff(
    session: Session, *, instance_id: int, module_id: int, user_ids: Sequence[int], add: bool
) -> None:
    """Grant (or withdraw) the management of a module to users of the instance."""
    get_module(session, instance_id=instance_id, module_id=module_id)
    if add:
        existing = set(
            session.scalars(
                scoped_columns(ModuleStaff, instance_id, ModuleStaff.user_id).where(
                    ModuleStaff.module_id == module_id
                )
            )
        )
        session.add_all(
            [
                ModuleStaff(module_id=module_id, user_id=u, instance_id=instance_id)
                for u in dict.fromkeys(user_ids)
                if u not in existing
            ]
        )
    else:
        session.execute(
            scoped_delete(ModuleStaff, instance_id).where(
                ModuleStaff.module_id == module_id, ModuleStaff.user_id.in_(list(user_ids))
            )
        )
    session.flush()


def pool_of(session: Session, module: Module, *, include_guests: bool) -> dict[str, int]:
    """The module's roster (and guest groups): each student's user id (uuid text) to their id.

    One query; the uuids come as text from the database, since 100,000 of them are a pool.
    """
    kinds = [GroupType.STUDENT_ROSTER] + ([GroupType.GUEST_GROUP] if include_guests else [])
    group_ids = scoped_columns(Group, module.instance_id, Group.id).where(
        Group.module_id == module.id, Group.parent_group_id.is_(None), Group.group_type.in_(kinds)
    )
    stmt = (
        scoped_columns(Student, module.instance_id, uuid_text(Student.uuid), Student.id)
        .join(Membership, Membership.student_id == Student.id)
        .where(Membership.group_id.in_(group_ids))
    )
    # A student on the roster and in a guest group comes twice; the dict keeps them once.
    return {row[0]: row[1] for row in session.execute(stmt)}
