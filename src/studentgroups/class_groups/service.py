"""The rules of a module's class groups: creating them, setting their users, listing them.

Shared with Randomise: which groups a call targets (LumiNUS rules 1-3), who may change them, and
how a grouping is written (set-based; COPY on PostgreSQL).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from studentgroups.auth import Principal
from studentgroups.errors import BadRequest, FieldError, Forbidden, NotFound
from studentgroups.groups.access import require_manage_members, visible
from studentgroups.groups.service import write_memberships
from studentgroups.listing import uuid_text
from studentgroups.modules.service import is_manager, pool_of, require_manager
from studentgroups.siblings import Siblings, class_parent, lock_module
from studentgroups.tables.group_types import GroupAccess, GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.instances import User
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import related_in_instance, scoped, scoped_columns, scoped_delete

_CHUNK = 5_000


def add_class_groups(
    session: Session,
    principal: Principal,
    *,
    module: Module,
    parent_uuid: uuid.UUID | None,
    groups: Sequence[dict[str, Any]],
    group_type: GroupType = GroupType.CLASS_GROUP,
) -> list[Group]:
    """Create groups of one type at the module's root, or class groups under a class group.

    A module has one Student Roster, made with it; any other documented type may be added.
    """
    require_manager(session, principal, module)
    if group_type == GroupType.STUDENT_ROSTER:
        raise BadRequest("A module has one Student Roster, made with the module; add students to it.")
    parent = class_parent(session, module, parent_uuid)
    if parent is not None and group_type != GroupType.CLASS_GROUP:
        raise BadRequest(f"Only class groups have sub-groups, not a {group_type.display_name}.")
    if parent is not None and parent.parent_group_id is not None:
        raise BadRequest(f"Group {parent.name!r} is itself a sub-group: sub-groups go one level deep.")
    created = [
        Group(
            instance_id=module.instance_id,
            module_id=module.id,
            parent_group_id=parent.id if parent else None,
            group_type=group_type,
            creator_id=principal.user_id,
            name=fields["group_name"],
            description=fields.get("description"),
            self_enrol=fields.get("self_enrol", False),
            max_user=fields.get("max_user", 0),
            self_enrol_open_date=fields.get("self_enrol_open_date"),
            self_enrol_close_date=fields.get("self_enrol_close_date"),
            waitlist=fields.get("waitlist", False),
            group_access=fields.get("group_access", GroupAccess.MEMBERS_VIEW),
        )
        for fields in groups
    ]
    session.add_all(created)
    session.flush()
    return created


def update_groups_users(
    session: Session,
    principal: Principal,
    *,
    assignments: Sequence[tuple[uuid.UUID, Sequence[uuid.UUID]]],
    allow_multiple: bool,
) -> tuple[Siblings[Module], list[Group], list[int]]:
    """Make each listed group's members exactly the users given, in one transaction; the
    groups, and the students listed.

    The groups must share one parent (or be root class groups of one module), be class groups,
    and have no sub-groups; the users must be on the module's roster or guest groups. A user who
    was in a sibling group is moved, unless `allow_multiple`.
    """
    instance_id = principal.instance_id
    module, groups = _listed_groups(session, instance_id, [g for g, _ in assignments])
    manages = require_manage_members(session, principal, module, groups)
    lock_module(session, module)
    siblings = _class_siblings(session, module, groups)
    pool = {uuid.UUID(k): v for k, v in pool_of(session, module, include_guests=True).items()}
    wanted = _wanted_memberships(module, pool, groups, [u for _, u in assignments], allow_multiple)
    listed = list(dict.fromkeys(student_id for _, student_id in wanted))

    target_ids = [g.id for g in groups]
    if not manages and not allow_multiple:
        _refuse_moves_out_of_other_groups(session, instance_id, siblings.scope, listed, target_ids)
    session.execute(scoped_delete(Membership, instance_id).where(Membership.group_id.in_(target_ids)))
    if not allow_multiple:
        # The new grouping wins: a listed user leaves any other group under the same parent.
        for start in range(0, len(listed), _CHUNK):
            session.execute(
                scoped_delete(Membership, instance_id).where(
                    Membership.sibling_scope == siblings.scope,
                    Membership.student_id.in_(listed[start : start + _CHUNK]),
                )
            )
    write_memberships(
        session, wanted, instance_id=instance_id, scope=siblings.scope, exclusive=not allow_multiple
    )
    session.flush()
    return siblings, groups, listed


def _listed_groups(
    session: Session, instance_id: int, group_uuids: list[uuid.UUID]
) -> tuple[Module, list[Group]]:
    """The groups named, in the order given, and their module: all found, all of one parent."""
    if len(set(group_uuids)) != len(group_uuids):
        raise BadRequest("A group appears twice in ids_user_guids.")
    found = {
        g.uuid: g for g in session.scalars(scoped(Group, instance_id).where(Group.uuid.in_(group_uuids)))
    }
    missing = [g for g in group_uuids if g not in found]
    if missing:
        raise NotFound(
            f"No group {missing[0]} in this instance (ids_user_guids.key).",
            errors=[
                FieldError(field="ids_user_guids.key", rule="not_found", message=f"no group {g}")
                for g in missing
            ],
        )
    groups = [found[g] for g in group_uuids]
    parents = {(g.module_id, g.parent_group_id) for g in groups}
    if len(parents) != 1 or groups[0].module_id is None:
        raise BadRequest("The groups must all be of the same main/parent group of one module.")
    module = session.scalar(scoped(Module, instance_id).where(Module.id == groups[0].module_id))
    assert module is not None
    return module, groups


def _class_siblings(session: Session, module: Module, groups: list[Group]) -> Siblings[Module]:
    """The groups as siblings of their parent: class groups only, none with sub-groups."""
    parent = related_in_instance(session, Group, groups[0].parent_group_id, module.instance_id)
    if parent is not None and parent.group_type != GroupType.CLASS_GROUP:
        raise BadRequest(f"Parent group {parent.name!r} is not a class group: class groups only.")
    not_class = [g for g in groups if g.group_type != GroupType.CLASS_GROUP]
    if not_class:
        raise BadRequest(
            f"Group {not_class[0].name!r} is a {GroupType(not_class[0].group_type).display_name}: "
            "class groups only (rosters are changed on the module)."
        )
    with_children = session.scalar(
        scoped_columns(Group, module.instance_id, Group.parent_group_id)
        .where(Group.parent_group_id.in_([g.id for g in groups]))
        .limit(1)
    )
    if with_children is not None:
        raise BadRequest("A group has sub-groups: the groups may not have sub-groups.")
    return Siblings(module=module, parent=parent, targets=groups)


def _wanted_memberships(
    module: Module,
    pool: dict[uuid.UUID, int],
    groups: list[Group],
    users_by_group: list[Sequence[uuid.UUID]],
    allow_multiple: bool,
) -> list[tuple[int, int]]:
    """(group id, student id) for every user listed: each on the module, and in one group only
    unless `allow_multiple`."""
    wanted: list[tuple[int, int]] = []
    seen: set[int] = set()
    for group, users in zip(groups, users_by_group, strict=True):
        unknown = [u for u in users if u not in pool]
        if unknown:
            raise BadRequest(
                f"User {unknown[0]} is not on module {module.code}'s roster or guest groups.",
                errors=[
                    FieldError(field="ids_user_guids.value", rule="not_in_module", message=f"user {u}")
                    for u in unknown[:100]
                ],
            )
        for user in dict.fromkeys(users):
            student_id = pool[user]
            if not allow_multiple and student_id in seen:
                raise BadRequest(f"User {user} is listed in two of these groups; allow_multiple is false.")
            seen.add(student_id)
            wanted.append((group.id, student_id))
    return wanted


def _refuse_moves_out_of_other_groups(
    session: Session, instance_id: int, scope: str, student_ids: list[int], group_ids: list[int]
) -> None:
    """A group's members (groupAccess 3) set its members, but may not take anyone out of a sibling group."""
    for start in range(0, len(student_ids), _CHUNK):
        elsewhere = session.scalar(
            scoped_columns(Membership, instance_id, Membership.group_id)
            .where(
                Membership.sibling_scope == scope,
                Membership.student_id.in_(student_ids[start : start + _CHUNK]),
                Membership.group_id.not_in(group_ids),
            )
            .limit(1)
        )
        if elsewhere is not None:
            raise Forbidden(
                "A user listed is in another group under the same parent; only a manager of the module "
                "may move them (or send allow_multiple)."
            )


# Listing ---------------------------------------------------------------------------------------

_Parent = aliased(Group)
SORTABLE = {
    "groupName": Group.name,
    "groupType": Group.group_type,
    "groupAccess": Group.group_access,
    "maxUser": Group.max_user,
    "selfEnrol": Group.self_enrol,
    "id": Group.uuid,
}
_WHERE_FIELDS: dict[str, Any] = {
    "groupName": Group.name,
    "groupType": Group.group_type,
    "groupAccess": Group.group_access,
    "selfEnrol": Group.self_enrol,
    "maxUser": Group.max_user,
    "parentGroupID": _Parent.uuid,
}
_CLAUSE = re.compile(r"^\s*(\w+)\s+(eq|ne|contains)\s+(?:'([^']*)'|(\S+))\s*$", re.IGNORECASE)
WHERE_HELP = (
    "Clauses joined by ` and `: `field op value`, op one of eq, ne, contains; fields groupName, groupType, "
    "groupAccess, selfEnrol, maxUser, parentGroupID; quote text values with single quotes, "
    "e.g. `groupType eq 1 and groupName contains 'Lab'`."
)


def _split_clauses(where: str) -> list[str]:
    """`where` cut at each ` and ` that is not inside single quotes."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    words = re.split(r"(\s+)", where.strip())
    for word in words:
        if not quoted and word.lower() == "and":
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(word)
        quoted ^= word.count("'") % 2 == 1
    parts.append("".join(current).strip())
    return [p for p in parts if p] if where.strip() else []


def _where_clauses(where: str) -> list[Any]:
    clauses = []
    for part in _split_clauses(where):
        match = _CLAUSE.match(part)
        if match is None or match.group(1) not in _WHERE_FIELDS:
            raise BadRequest(f"where: cannot read {part!r}. {WHERE_HELP}")
        field, op, quoted, bare = match.groups()
        column = _WHERE_FIELDS[field]
        raw = quoted if quoted is not None else bare
        value: Any = raw
        if field in {"groupType", "groupAccess", "maxUser"}:
            if not re.fullmatch(r"-?\d{1,9}", raw):
                raise BadRequest(f"where: {field} compares with a whole number, not {raw!r}.")
            value = int(raw)
        elif field == "selfEnrol":
            if raw.lower() not in {"true", "false"}:
                raise BadRequest(f"where: selfEnrol compares with true or false, not {raw!r}.")
            value = raw.lower() == "true"
        elif field == "parentGroupID":
            try:
                value = uuid.UUID(raw)
            except ValueError:
                raise BadRequest(f"where: parentGroupID compares with a group id, not {raw!r}.") from None
        op = op.lower()
        if op == "contains":
            if field != "groupName":
                raise BadRequest("where: contains applies to groupName only.")
            clauses.append(func.lower(column).contains(str(value).lower(), autoescape=True))
        else:
            clauses.append(column == value if op == "eq" else column != value)
    return clauses


def module_groups(
    session: Session, principal: Principal, module: Module, *, manages: bool | None = None
) -> Select[Any]:
    """The module's groups the caller may see, each with its parent's and creator's LumiNUS ids.

    `manages`: whether the caller manages the module, when already known.
    """
    Creator = aliased(User)  # noqa: N806 - an aliased table reads as a class
    stmt = (
        scoped_columns(
            Group,
            module.instance_id,
            Group,
            _Parent.uuid.label("parent_uuid"),
            Creator.uuid.label("creator_uuid"),
        )
        .outerjoin(_Parent, _Parent.id == Group.parent_group_id)
        .outerjoin(Creator, Creator.id == Group.creator_id)
        .where(Group.module_id == module.id)
    )
    if manages is None:
        manages = is_manager(session, principal, module)
    return stmt.where(visible(principal, manages_module=manages))


def class_groups_under(session: Session, principal: Principal, siblings: Siblings[Module]) -> list[Row[Any]]:
    """The class groups under the parent (or at the module's root) that the caller may see, by id,
    each with its parent's and creator's LumiNUS ids (`module_groups`)."""
    stmt = module_groups(session, principal, siblings.module).where(
        siblings.condition, Group.group_type == GroupType.CLASS_GROUP
    )
    return list(session.execute(stmt.order_by(Group.id)).all())


def creator_uuids(session: Session, instance_id: int, groups: Sequence[Group]) -> dict[int, uuid.UUID]:
    """The LumiNUS ids of the users who created these groups, by user id."""
    ids = {g.creator_id for g in groups if g.creator_id is not None}
    if not ids:
        return {}
    rows = session.execute(scoped_columns(User, instance_id, User.id, User.uuid).where(User.id.in_(ids)))
    return {row.id: row.uuid for row in rows}


def linked_uuids(
    session: Session, group: Group
) -> tuple[uuid.UUID | None, uuid.UUID | None, uuid.UUID | None]:
    """The LumiNUS ids of a group's module, parent and creator (each None when it has none), in
    one query."""
    Creator = aliased(User)  # noqa: N806 - an aliased table reads as a class
    row = session.execute(
        scoped_columns(Group, group.instance_id, Module.uuid, _Parent.uuid, Creator.uuid)
        .outerjoin(Module, Module.id == Group.module_id)
        .outerjoin(_Parent, _Parent.id == Group.parent_group_id)
        .outerjoin(Creator, Creator.id == Group.creator_id)
        .where(Group.id == group.id)
    ).one()
    return row[0], row[1], row[2]


def visible_groups(session: Session, principal: Principal, module: Module) -> Select[Any]:
    """The module's groups the caller may see, with what the LumiNUS class-group model needs beside them."""
    of_module = scoped_columns(Group, module.instance_id, Group.id).where(Group.module_id == module.id)
    counts = (
        scoped_columns(Membership, module.instance_id, Membership.group_id, func.count().label("n"))
        .where(Membership.group_id.in_(of_module))
        .group_by(Membership.group_id)
        .subquery()
    )
    return (
        module_groups(session, principal, module)
        .add_columns(func.coalesce(counts.c.n, 0).label("member_count"))
        .outerjoin(counts, counts.c.group_id == Group.id)
    )


def list_module_groups(
    session: Session,
    principal: Principal,
    *,
    module: Module,
    sortby: str | None,
    offset: int,
    limit: int | None,
    where: str | None,
) -> tuple[list[Row[Any]], int]:
    """A page of the module's groups the caller may see, filtered by `where`, sorted by `sortby`."""
    stmt = visible_groups(session, principal, module).where(and_(True, *_where_clauses(where or "")))
    total = int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    order: list[Any] = []
    for raw in (sortby or "").split(","):
        part = raw.strip()
        if not part:
            continue
        name, _, direction = part.partition(" ")
        column = SORTABLE.get(name)
        if column is None or direction.lower() not in {"", "asc", "desc"}:
            raise BadRequest(
                f"sortby: {part!r} is not one of {', '.join(SORTABLE)} (optionally followed by asc or desc)."
            )
        order.append(column.desc() if direction.lower() == "desc" else column.asc())
    stmt = stmt.order_by(*order, Group.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.execute(stmt).all()), total


def group_rows_by_id(
    session: Session, principal: Principal, module: Module, ids: Sequence[int]
) -> list[Row[Any]]:
    """The given groups of the module with their LumiNUS fields, by id."""
    stmt = visible_groups(session, principal, module).where(Group.id.in_(list(ids))).order_by(Group.id)
    return list(session.execute(stmt).all())


def members_by_group(session: Session, instance_id: int, group_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each group's members' user ids (uuid text), in one query."""
    out: dict[int, list[str]] = {g: [] for g in group_ids}
    rows = session.execute(
        scoped_columns(Membership, instance_id, Membership.group_id, uuid_text(Student.uuid))
        .join(Student, Student.id == Membership.student_id)
        .where(Membership.group_id.in_(list(group_ids)))
        .order_by(Membership.group_id, Student.uuid)
    )
    for group_id, student_uuid in rows:
        out[group_id].append(student_uuid)
    return out
