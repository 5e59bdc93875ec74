"""Forming the groups under a parent on the database, saving it with its history, and undoing it.

The rules of a formation live in the pure engine (`studentgroups.grouping`); this module gives it
the members (with the attributes asked for), the groups and the constraints, and writes what it
answers. A save replaces the grouping under the parent (or, in top-up mode, only adds to it) in
one transaction, and records the memberships under the parent before and after, so that the save
can be undone while nothing has changed since.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, case, func, literal, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from studentgroups import grouping
from studentgroups.auth import Principal
from studentgroups.csv_import import RowProblem
from studentgroups.db import utcnow
from studentgroups.errors import BadRequest, Conflict, FieldError, Forbidden
from studentgroups.formations.attributes import member_attributes
from studentgroups.formations.grouping_import import GroupingRow, InvalidGroupingFile
from studentgroups.groups import access
from studentgroups.groups.service import write_memberships
from studentgroups.listing import Page, uuid_text
from studentgroups.lookup import chunk_size, one_of, student_ids_by_uid
from studentgroups.modules.service import get_module, is_manager, require_manager
from studentgroups.seats import drop_queues
from studentgroups.siblings import Siblings
from studentgroups.tables.enrolment import WaitlistEntry
from studentgroups.tables.formations import SavedFormation, pack_pairs, unpack_pairs
from studentgroups.tables.group_types import GroupAccess, GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.instances import User
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import get_in_instance, paginate, scoped, scoped_columns, scoped_delete

LEAVE = "leave"
"""The strategy of a formation that records members leaving a module (`leave_module`)."""

NEW_GROUP_KEY = "new:{:05d}"
"""The engine's key of the n-th group a formation creates (existing groups are keyed by uuid)."""


Ref = int | uuid.UUID
"""A student or a group as an edge names it: its id, or its LumiNUS id (a UUID)."""


@dataclass(frozen=True, slots=True)
class Options:
    """How to form, on every surface: the strategy and its attributes, the hard constraints,
    top-up. Each edge builds it from its own wire shape, naming members and groups as its wire
    does: by student id and group id (Domoscio, management), or by user id and group id as
    UUIDs (LumiNUS). The formation finds them in the pool and the targets, once."""

    strategy: str = "random"
    seed: int | None = None
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    no_isolation: tuple[str, ...] = ()
    keep_together: tuple[tuple[Ref, ...], ...] = ()
    keep_apart: tuple[tuple[Ref, ...], ...] = ()
    pinned: tuple[tuple[Ref, Ref], ...] = ()
    """(member, group) pairs"""
    top_up: bool = False
    spread_weight: float | None = None
    """balanced: the weight of the groups' SDs beside their means (None: the engine's default)"""
    protected: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """noIsolation's protected values, by attribute"""
    minority_share: float = grouping.DEFAULT_MINORITY_SHARE
    sections: str | None = None
    """a category whose values are sections, each formed on its own (`FormationRequest.sections`)"""

    @property
    def is_plain_random(self) -> bool:
        """Nothing beyond a seeded shuffle: the engine answers exactly as Randomise always has."""
        return (
            self.strategy == "random"
            and not (self.numeric or self.categorical or self.no_isolation or self.keep_together)
            and not (self.keep_apart or self.pinned or self.top_up or self.sections)
        )


@dataclass(frozen=True, slots=True)
class GroupsToCreate:
    """New groups, as Moodle and Canvas make them: `count` groups, or groups of `size` (one fewer
    when the last would be too small, with `prevent_small_last`), named from a pattern."""

    count: int | None = None
    size: int | None = None
    prevent_small_last: bool = False
    name_pattern: str = "Group @"


@dataclass(frozen=True, slots=True)
class Place:
    """Where a formation happens: the groups under one parent, and the pool it forms into them."""

    siblings: Siblings[Module | None]
    pool: dict[str, int]
    """member key (the student's uuid as text) -> student id"""
    new_names: list[str] = field(default_factory=list)
    """groups the formation creates under the parent (they exist only once it is saved)"""

    @property
    def targets(self) -> list[Group]:
        """The existing groups formed."""
        return self.siblings.targets

    @property
    def instance_id(self) -> int:
        """The tenant."""
        return self.siblings.instance_id


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a formation did (or would do)."""

    groups: list[tuple[Group | None, str, list[str]]]
    """each group (None: to be created), its name, and its members' keys (all of them)"""
    unplaced: list[str]
    report: grouping.QualityReport
    seed: int
    saved: SavedFormation | None
    pictures: list[grouping.GroupPicture] = field(default_factory=list)
    """each target as a preview draws it (`grouping.pictures`), for a grouping `adjust` read"""


def target_keys(place: Place) -> list[str]:
    """The engine's key of each of the place's groups, in the place's order: the existing ones,
    then those it creates (`NEW_GROUP_KEY`)."""
    return [target_key(g) for g in place.targets] + [
        NEW_GROUP_KEY.format(i) for i in range(len(place.new_names))
    ]


@dataclass(frozen=True, slots=True)
class PoolMember:
    """A member of a formation's pool as a preview lists it."""

    key: str
    student_id: int
    uid: str
    name: str | None


def pool_members(session: Session, place: Place) -> dict[str, PoolMember]:
    """The place's pool with each member's uid and name, by member key, in one query."""
    by_id = {student_id: key for key, student_id in place.pool.items()}
    found: dict[str, PoolMember] = {}
    ids = list(by_id)
    size = chunk_size(session)
    for start in range(0, len(ids), size):
        rows = session.connection().execute(
            scoped_columns(Student, place.instance_id, Student.id, Student.uid, Student.name).where(
                one_of(session, Student.id, ids[start : start + size], BigInteger)
            )
        )
        for student_id, uid, name in rows:
            found[by_id[student_id]] = PoolMember(by_id[student_id], student_id, uid, name)
    return found


def target_key(group: Group) -> str:
    """The engine's key of an existing group: its uuid (a seed then reproduces across surfaces)."""
    return str(group.uuid)


def _members_of(session: Session, instance_id: int, group_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each group's student ids, in one query."""
    out: dict[int, list[int]] = {g: [] for g in group_ids}
    rows = session.connection().execute(
        scoped_columns(Membership, instance_id, Membership.group_id, Membership.student_id).where(
            Membership.group_id.in_(list(group_ids))
        )
    )
    for group_id, student_id in rows:
        out[group_id].append(student_id)
    return out


def _seeded_shuffle(place: Place, targets: list[grouping.Target], seed: int) -> grouping.Formation:
    """The documented Randomise: the engine's seeded shuffle (what `form_groups` answers when
    nothing beyond it is asked), without building a member object for each of 100,000 keys."""
    started = time.perf_counter()
    assignment = grouping.random_assignment(list(place.pool), targets, seed)
    report = grouping.QualityReport(
        sizes=[len(assignment.groups[t.key]) for t in sorted(targets, key=lambda t: t.key)],
        numeric=[],
        categorical=[],
        violations=0,
        seed=seed,
        strategy="random",
        runtime_ms=(time.perf_counter() - started) * 1000,
    )
    return grouping.Formation(groups=assignment.groups, unplaced=assignment.unplaced, report=report)


def _named(member: Ref) -> str:
    return f"user {member}" if isinstance(member, uuid.UUID) else f"student {member}"


def _constraints(
    place: Place, options: Options, key_of: dict[int, str], group_key: dict[Ref, str]
) -> grouping.Constraints:
    """The options' constraints in member and group keys; a 400 naming every member or group
    they name that is not being formed (by the edge's own field names: `pinned` on the
    management surface, `pinned.user_id` and `pinned.group_id` where members are UUIDs)."""
    problems: list[FieldError] = []

    def key_for(member: Ref) -> str | None:
        """The member's key (its user id as text), if it is in the pool."""
        if isinstance(member, uuid.UUID):
            return str(member) if str(member) in place.pool else None
        return key_of.get(member)

    def keys(members: Sequence[Ref], field_name: str) -> list[str]:
        found = [(m, key_for(m)) for m in members]
        problems.extend(
            FieldError(
                field=field_name, rule="not_in_pool", message=f"{_named(m)} is not among the members to form"
            )
            for m, k in found
            if k is None
        )
        return [k for _, k in found if k is not None]

    pinned: dict[str, str] = {}
    for who, group in options.pinned:
        by_uuid = isinstance(who, uuid.UUID)
        if group not in group_key:
            problems.append(
                FieldError(
                    field="pinned.group_id" if by_uuid else "pinned",
                    rule="not_a_target",
                    message=f"group {group} is not one of the groups formed",
                )
            )
        for member_key in keys([who], "pinned.user_id" if by_uuid else "pinned"):
            if group in group_key:
                pinned[member_key] = group_key[group]
    constraints = grouping.Constraints(
        keep_together=[keys(s, "keep_together") for s in options.keep_together],
        keep_apart=[keys(s, "keep_apart") for s in options.keep_apart],
        pinned=pinned,
    )
    if problems:
        raise BadRequest("Some constraints name what is not being formed.", errors=problems[:100])
    return constraints


def _request(
    place: Place, options: Options, seed: int, session: Session, targets: list[grouping.Target]
) -> grouping.FormationRequest:
    """The engine's request: members with their attributes, groups with their capacities, the
    constraints in member and group keys, and in top-up mode the members already placed."""
    key_of = {student_id: key for key, student_id in place.pool.items()}
    group_key: dict[Ref, str] = {g.id: target_key(g) for g in place.targets}
    group_key.update({g.uuid: target_key(g) for g in place.targets})
    constraints = _constraints(place, options, key_of, group_key)  # a 400 before any query
    existing: dict[str, list[str]] = {}
    placed: set[str] = set()
    if options.top_up:
        for group_id, student_ids in _members_of(
            session, place.instance_id, [g.id for g in place.targets]
        ).items():
            already = [key_of[s] for s in student_ids if s in key_of]
            existing[group_key[group_id]] = already
            placed.update(already)
    numbers, categories = member_attributes(
        session,
        instance_id=place.instance_id,
        student_ids=list(place.pool.values()),
        numeric=options.numeric,
        categorical=tuple(
            dict.fromkeys(
                options.categorical + options.no_isolation + ((options.sections,) if options.sections else ())
            )
        ),
    )

    def member(key: str) -> grouping.Member:
        student_id = place.pool[key]
        return grouping.Member(
            key=key, numeric=numbers.get(student_id, {}), categorical=categories.get(student_id, {})
        )

    return grouping.FormationRequest(
        members=[member(k) for k in place.pool if k not in placed],
        targets=targets,
        strategy="balanced" if options.strategy == "balanced" else "random",
        seed=seed,
        numeric=options.numeric,
        categorical=options.categorical,
        no_isolation=options.no_isolation,
        protected=dict(options.protected),
        minority_share=options.minority_share,
        spread_weight=options.spread_weight,
        sections=options.sections,
        constraints=constraints,
        existing={g: [member(k) for k in ks] for g, ks in existing.items()},
    )


def form(
    session: Session,
    user_id: int | None,
    *,
    place: Place,
    options: Options,
    save: bool,
    request_record: dict[str, Any],
) -> Outcome:
    """Form the pool into the place's groups; with `save`, write it and record it in the history
    as `user_id`'s (None: the service's own, as at the close of a self-enrolment window)."""
    seed = grouping.new_seed() if options.seed is None else options.seed
    targets = [grouping.Target(key=target_key(g), capacity=g.max_user) for g in place.targets]
    targets += [grouping.Target(key=NEW_GROUP_KEY.format(i)) for i in range(len(place.new_names))]
    existing: dict[str, list[str]] = {}
    if options.is_plain_random:
        formed = _seeded_shuffle(place, targets, seed)
    else:
        request = _request(place, options, seed, session, targets)
        try:
            formed = grouping.form_groups(request)
        except grouping.Infeasible as error:
            raise BadRequest(
                "The hard constraints cannot all hold: " + "; ".join(error.problems[:20]) + ".",
                errors=[
                    FieldError(field="constraints", rule="infeasible", message=p)
                    for p in error.problems[:100]
                ],
            ) from None
        existing = {g: [m.key for m in ms] for g, ms in request.existing.items()}
    names = [g.name for g in place.targets] + place.new_names
    groups: list[tuple[Group | None, str, list[str]]] = []
    for index, target in enumerate(targets):
        group = place.targets[index] if index < len(place.targets) else None
        groups.append((group, names[index], existing.get(target.key, []) + formed.groups.get(target.key, [])))
    saved = None
    if save:
        record = {**request_record, "seed": seed}
        saved, formed_groups = _save(session, user_id, place, options, groups, seed, record)
        groups = [(target, name, keys) for target, (_, name, keys) in zip(formed_groups, groups, strict=True)]
    # The engine counts its groups in key order; the answer lists them in the place's order.
    report = dataclasses.replace(formed.report, sizes=[len(keys) for _, _, keys in groups])
    return Outcome(groups=groups, unplaced=formed.unplaced, report=report, seed=seed, saved=saved)


def adjust(
    session: Session,
    user_id: int | None,
    *,
    place: Place,
    options: Options,
    seed: int,
    groups: dict[str, list[str]],
    save: bool,
    request_record: dict[str, Any],
) -> Outcome:
    """A grouping of the place's pool that staff arranged or changed by hand (a preview they moved
    members in), by target key (`target_key`, `NEW_GROUP_KEY`) to member keys: its quality report
    (`grouping.assess`, against the same seeded random), and with `save` the grouping written
    and recorded exactly so. A group over its `max_user`, a broken hard rule, a member twice or
    not in the pool: a BadRequest, nothing written. Not in top-up mode."""
    if options.top_up:
        raise BadRequest(
            "A grouping changed by hand replaces the one under the parent: top_up does not apply."
        )
    targets = [grouping.Target(key=target_key(g), capacity=g.max_user) for g in place.targets]
    targets += [grouping.Target(key=NEW_GROUP_KEY.format(i)) for i in range(len(place.new_names))]
    request = _request(place, options, seed, session, targets)
    try:
        report = grouping.assess(request, groups)
        drawn = grouping.pictures(request, groups)
    except grouping.Infeasible as error:
        raise BadRequest(
            "The grouping is not one of this place's: " + "; ".join(error.problems[:20]) + ".",
            errors=[FieldError(field="groups", rule="unknown", message=p) for p in error.problems[:100]],
        ) from None
    names = [g.name for g in place.targets] + place.new_names
    arranged: list[tuple[Group | None, str, list[str]]] = [
        (place.targets[i] if i < len(place.targets) else None, names[i], list(groups.get(t.key, [])))
        for i, t in enumerate(targets)
    ]
    full = [
        FieldError(
            field="groups", rule="max_user", message=f"{name}: {len(keys)} members, room for {group.max_user}"
        )
        for group, name, keys in arranged
        if group is not None and group.max_user and len(keys) > group.max_user
    ]
    placed = {k for ks in groups.values() for k in ks}
    unplaced = [k for k in place.pool if k not in placed]
    saved = None
    if save:
        if full or report.violations:
            raise BadRequest(
                f"This grouping breaks {report.violations} hard rule(s) and overfills {len(full)} group(s); "
                "nothing was saved.",
                errors=full
                or [FieldError(field="groups", rule="constraints", message="a hard rule is broken")],
            )
        record = {**request_record, "seed": seed, "adjusted": True}
        saved, formed_groups = _save(session, user_id, place, options, arranged, seed, record)
        arranged = [
            (target, name, keys) for target, (_, name, keys) in zip(formed_groups, arranged, strict=True)
        ]
    report = dataclasses.replace(report, sizes=[len(keys) for _, _, keys in arranged])
    by_key = {p.key: p for p in drawn}
    in_order = [by_key[t.key] for t in targets]
    return Outcome(
        groups=arranged, unplaced=unplaced, report=report, seed=seed, saved=saved, pictures=in_order
    )


def _scope_memberships(session: Session, place: Place, group_ids: Sequence[int]) -> list[tuple[int, int]]:
    """The memberships under the parent as (group id, student id); not exclusive: group id negated.

    Read by group (the primary key's index), not by scope, which no index leads with.
    """
    signed = _signed_group()
    rows = session.connection().execute(
        scoped_columns(Membership, place.instance_id, signed, Membership.student_id).where(
            Membership.group_id.in_(list(group_ids)), Membership.sibling_scope == place.siblings.scope
        )
    )
    return [(g, s) for g, s in rows.all()]  # plain tuples: sorting Rows costs far more


def _signed_group(membership: Any = Membership) -> Any:
    return case((membership.exclusive, membership.group_id), else_=-membership.group_id)


def snapshot(session: Session, place: Place, group_ids: Sequence[int]) -> Any:
    """The memberships under the parent, packed as `pack_pairs` packs them: on PostgreSQL a SQL
    expression the database evaluates where it is used; elsewhere the bytes, packed here."""
    if session.get_bind().dialect.name != "postgresql":
        return pack_pairs(_scope_memberships(session, place, group_ids))
    signed = _signed_group()
    pair = func.int8send(signed).op("||")(func.int8send(Membership.student_id))
    packed = func.string_agg(pair, aggregate_order_by(literal(b""), signed, Membership.student_id))
    return (
        scoped_columns(Membership, place.instance_id, func.coalesce(packed, literal(b"")))
        .where(Membership.group_id.in_(list(group_ids)), Membership.sibling_scope == place.siblings.scope)
        .scalar_subquery()
    )


def _write_pairs(session: Session, instance_id: int, scope: str, pairs: Sequence[tuple[int, int]]) -> None:
    exclusive = [(g, s) for g, s in pairs if g > 0]
    shared = [(-g, s) for g, s in pairs if g < 0]
    write_memberships(session, exclusive, instance_id=instance_id, scope=scope, exclusive=True)
    write_memberships(session, shared, instance_id=instance_id, scope=scope, exclusive=False)


def _save(
    session: Session,
    user_id: int | None,
    place: Place,
    options: Options,
    groups: list[tuple[Group | None, str, list[str]]],
    seed: int,
    request_record: dict[str, Any],
) -> tuple[SavedFormation, list[Group]]:
    """Write the grouping (creating the new groups) and its history; the formation and its groups.

    On PostgreSQL the database packs the before- and after-states itself (`snapshot`); on SQLite
    the before-state is read once and the after-state follows from it and what was written.
    """
    place.siblings.lock(session)
    instance_id = place.instance_id
    under = place.siblings.group_ids(session)
    by_database = session.get_bind().dialect.name == "postgresql"
    before = [] if by_database else _scope_memberships(session, place, under)
    saved = SavedFormation(
        instance_id=instance_id,
        module_id=place.siblings.module_id,
        parent_group_id=place.siblings.parent_id,
        scope=place.siblings.scope,
        user_id=user_id,
        strategy=options.strategy,
        seed=seed,
        request=request_record,
        group_ids=[],
        created_group_ids=[],
        member_count=0,
        before=snapshot(session, place, under) if by_database else pack_pairs(before),
        after=b"",
    )
    session.add(saved)
    session.flush()  # the before-state, taken before anything changes
    created = _create_groups(session, user_id, place)
    targets = list(place.targets) + created
    target_ids = [g.id for g in targets]
    pool = place.pool
    wanted = [
        (group_id, pool[key])
        for group_id, (_, _, keys) in zip(target_ids, groups, strict=True)
        for key in keys
    ]
    if options.top_up:
        already = set(before if not by_database else _scope_memberships(session, place, under))
        new_pairs = [pair for pair in wanted if pair not in already]
        kept = before
    else:
        # The new grouping replaces the old one under the parent, for the whole pool: the groups
        # formed are emptied, and a member of the pool leaves any other group under the parent.
        pool_ids = list(place.pool.values())
        session.execute(scoped_delete(Membership, instance_id).where(Membership.group_id.in_(target_ids)))
        elsewhere = set(under) - set(target_ids)
        for start in range(0, len(pool_ids) if elsewhere else 0, 5_000):
            session.execute(
                scoped_delete(Membership, instance_id).where(
                    Membership.sibling_scope == place.siblings.scope,
                    Membership.student_id.in_(pool_ids[start : start + 5_000]),
                )
            )
        new_pairs = wanted
        formed, pooled = set(target_ids), set(pool_ids)
        kept = [(g, s) for g, s in before if abs(g) not in formed and s not in pooled]
    write_memberships(session, new_pairs, instance_id=instance_id, scope=place.siblings.scope, exclusive=True)
    # The waiting lists under the parent were for the grouping this one replaces or tops up.
    drop_queues(
        session,
        instance_id=instance_id,
        scope=place.siblings.scope,
        student_ids=[s for _, s in new_pairs] if options.top_up else None,
    )
    saved.group_ids = target_ids
    saved.created_group_ids = [g.id for g in created]
    saved.member_count = len(new_pairs)
    saved.after = (
        snapshot(session, place, under + saved.created_group_ids)
        if by_database
        else pack_pairs(kept + new_pairs)
    )
    session.flush()
    return saved, targets


def _create_groups(session: Session, user_id: int | None, place: Place) -> list[Group]:
    if not place.new_names:
        return []
    parent = place.siblings.parent
    created = [
        Group(
            instance_id=place.instance_id,
            module_id=place.siblings.module_id,
            parent_group_id=parent.id if parent else None,
            group_type=parent.group_type if parent else GroupType.CLASS_GROUP,
            group_access=parent.group_access if parent else GroupAccess.MEMBERS_VIEW,
            creator_id=user_id,
            name=name,
        )
        for name in place.new_names
    ]
    session.add_all(created)
    session.flush()
    return created


# History ------------------------------------------------------------------------------------------


def list_formations(
    session: Session, *, instance_id: int, scope: str, page: Page
) -> tuple[list[SavedFormation], int]:
    """The formations saved under a parent, newest first."""
    rows, total = paginate(
        session,
        scoped(SavedFormation, instance_id)
        .where(SavedFormation.scope == scope)
        .order_by(SavedFormation.id.desc()),
        page,
    )
    return [row[0] for row in rows], total


def get_formation(session: Session, *, instance_id: int, formation_id: int) -> SavedFormation:
    """One saved formation, or NotFound."""
    return get_in_instance(session, SavedFormation, formation_id, instance_id, what="formation")


@dataclass(frozen=True, slots=True)
class Changes:
    """How the memberships under a parent differ from a formation's after-state."""

    added: list[tuple[int, int]]
    removed: list[tuple[int, int]]


def revert(session: Session, principal: Principal, *, saved: SavedFormation, place: Place) -> SavedFormation:
    """Put the memberships under the parent back as they were before the formation, and delete
    the groups it created; Conflict, saying what changed, when anything changed since. A
    leave (`leave_module`) is undone by putting the leavers back where they were."""
    if saved.reverted_at is not None:
        raise Conflict(f"Formation {saved.id} was already undone.")
    place.siblings.lock(session)
    if saved.strategy == LEAVE:
        _restore_leavers(session, saved)
        saved.reverted_at = utcnow()
        saved.reverted_by_id = principal.user_id
        session.flush()
        return saved
    under = place.siblings.group_ids(session)
    current_state = snapshot(session, place, under)
    if not isinstance(current_state, bytes):  # PostgreSQL: packed by the database
        current_state = session.scalar(select(current_state))
    if bytes(current_state) != bytes(saved.after):
        current = _scope_memberships(session, place, under)
        after = unpack_pairs(saved.after)
        changes = Changes(added=sorted(set(current) - set(after)), removed=sorted(set(after) - set(current)))
        raise Conflict(
            f"The groups changed since formation {saved.id}: {len(changes.added)} membership(s) added, "
            f"{len(changes.removed)} removed; undo the later changes first.",
            errors=[
                FieldError(field="memberships", rule="added", message=f"student {s} in group {abs(g)}")
                for g, s in changes.added[:20]
            ]
            + [
                FieldError(field="memberships", rule="removed", message=f"student {s} from group {abs(g)}")
                for g, s in changes.removed[:20]
            ],
        )
    session.execute(
        scoped_delete(Membership, saved.instance_id).where(
            Membership.group_id.in_(under), Membership.sibling_scope == saved.scope
        )
    )
    _write_pairs(session, saved.instance_id, saved.scope, unpack_pairs(saved.before))
    if saved.created_group_ids:
        session.execute(scoped_delete(Group, saved.instance_id).where(Group.id.in_(saved.created_group_ids)))
    saved.reverted_at = utcnow()
    saved.reverted_by_id = principal.user_id
    session.flush()
    return saved


# Leaving a module ------------------------------------------------------------------------------------


def leave_module(
    session: Session,
    user_id: int | None,
    *,
    module: Module,
    student_ids: Sequence[int],
    request_record: dict[str, Any],
) -> list[SavedFormation]:
    """The students leave the module: its roster and every group of it but its guest groups,
    and its waiting lists. Recorded as one formation (strategy `leave`) for each set of siblings
    they were in, the memberships taken out as its before-state, undone as any formation is
    (`revert` puts them back where they were)."""
    if not student_ids:
        return []
    instance_id = module.instance_id
    Siblings(module, None).lock(session)
    groups = scoped_columns(Group, instance_id, Group.id).where(
        Group.module_id == module.id, Group.group_type != GroupType.GUEST_GROUP
    )
    held: dict[str, list[tuple[int, int]]] = {}
    parent_of: dict[str, int | None] = {}
    size = chunk_size(session)
    for start in range(0, len(student_ids), size):
        chunk = list(student_ids[start : start + size])
        rows = session.connection().execute(
            scoped_columns(
                Membership, instance_id, Membership.sibling_scope, _signed_group(), Membership.student_id
            )
            .add_columns(Group.parent_group_id)
            .join(Group, Group.id == Membership.group_id)
            .where(Membership.group_id.in_(groups), one_of(session, Membership.student_id, chunk, BigInteger))
        )
        for scope, group_id, student_id, parent_id in rows:
            held.setdefault(scope, []).append((group_id, student_id))
            parent_of[scope] = parent_id
        session.execute(
            scoped_delete(Membership, instance_id).where(
                Membership.group_id.in_(groups), one_of(session, Membership.student_id, chunk, BigInteger)
            )
        )
        session.execute(
            scoped_delete(WaitlistEntry, instance_id).where(
                WaitlistEntry.group_id.in_(groups),
                one_of(session, WaitlistEntry.student_id, chunk, BigInteger),
            )
        )
    saved = [
        SavedFormation(
            instance_id=instance_id,
            module_id=module.id,
            parent_group_id=parent_of[scope],
            scope=scope,
            user_id=user_id,
            strategy=LEAVE,
            seed=0,
            request=request_record,
            group_ids=sorted({abs(g) for g, _ in pairs}),
            created_group_ids=[],
            member_count=len(pairs),
            before=pack_pairs(pairs),
            after=b"",
        )
        for scope, pairs in sorted(held.items())
    ]
    session.add_all(saved)
    session.flush()
    return saved


def _restore_leavers(session: Session, saved: SavedFormation) -> None:
    """Put a leave's memberships back; Conflict, saying what changed, when one of its groups is
    gone or a leaver holds a membership it would clash with (in the group, or in an exclusive
    sibling of it)."""
    pairs = unpack_pairs(saved.before)
    instance_id = saved.instance_id
    group_ids = sorted({abs(g) for g, _ in pairs})
    present = set(
        session.scalars(scoped_columns(Group, instance_id, Group.id).where(Group.id.in_(group_ids)))
    )
    leavers = sorted({s for _, s in pairs})
    now_held: dict[int, list[int]] = {}
    size = chunk_size(session)
    for start in range(0, len(leavers), size):
        rows = session.connection().execute(
            scoped_columns(Membership, instance_id, Membership.student_id, Membership.group_id).where(
                Membership.sibling_scope == saved.scope,
                one_of(session, Membership.student_id, leavers[start : start + size], BigInteger),
            )
        )
        for student_id, group_id in rows:
            now_held.setdefault(student_id, []).append(group_id)
    problems = [
        FieldError(field="groups", rule="deleted", message=f"group {g} is gone")
        for g in group_ids
        if g not in present
    ]
    for group_id, student_id in pairs:
        clash = [g for g in now_held.get(student_id, []) if group_id > 0 or g == -group_id]
        problems += [
            FieldError(field="memberships", rule="added", message=f"student {student_id} in group {g}")
            for g in clash
        ]
    if problems:
        raise Conflict(
            f"The groups changed since formation {saved.id}: {len(problems)} change(s) stand in the way "
            "of putting its leavers back; undo the later changes first.",
            errors=problems[:40],
        )
    _write_pairs(session, instance_id, saved.scope, pairs)


# Places ---------------------------------------------------------------------------------------------


def place_under(session: Session, parent: Group, *, create: GroupsToCreate | None) -> Place:
    """The sub-groups of a parent group and its members: what a formation under it works on.

    With `create`, the formation makes new sub-groups (named from its pattern, beside any that
    exist) and forms the parent's members into them only.
    """
    if parent.parent_group_id is not None:
        raise BadRequest(f"Group {parent.id} is itself a sub-group: sub-groups go one level deep.")
    instance_id = parent.instance_id
    pool = _parent_pool(session, parent)
    children = list(
        session.scalars(
            scoped(Group, instance_id).where(Group.parent_group_id == parent.id).order_by(Group.id)
        )
    )
    new_names: list[str] = []
    if create is not None:
        try:
            count = grouping.groups_needed(
                len(pool), count=create.count, size=create.size, prevent_small_last=create.prevent_small_last
            )
        except ValueError as error:
            raise BadRequest(f"create: {error}.") from None
        new_names = grouping.group_names(create.name_pattern, count, taken={c.name for c in children})
        children = []
    elif not children:
        raise BadRequest(
            f"Group {parent.id} has no sub-groups to form: add some, or send `create` to make them."
        )
    return Place(siblings=Siblings(None, parent, children), pool=pool, new_names=new_names)


def _parent_pool(session: Session, parent: Group) -> dict[str, int]:
    """The parent's members: member key (uuid as text) -> student id."""
    return dict(
        session.connection()
        .execute(
            scoped_columns(Membership, parent.instance_id, uuid_text(Student.uuid), Membership.student_id)
            .join(Student, Student.id == Membership.student_id)
            .where(Membership.group_id == parent.id)
        )
        .all()
    )


def import_grouping(
    session: Session,
    user_id: int | None,
    *,
    parent: Group,
    rows: Sequence[GroupingRow],
    request_record: dict[str, Any],
) -> SavedFormation:
    """Save a grouping read from a file as a formation under `parent`, undone as any formation is.

    Each group is found by name among the parent's sub-groups, or made; the groups named hold
    the file's students and no one else, and those students leave any other group under the
    parent. A uid the instance lacks, a student not in the parent, a student twice where a student
    holds one group, a name two sub-groups share: each a problem on its line, nothing written.
    """
    if parent.parent_group_id is not None:
        raise BadRequest(f"Group {parent.id} is itself a sub-group: sub-groups go one level deep.")
    children = list(
        session.scalars(
            scoped(Group, parent.instance_id).where(Group.parent_group_id == parent.id).order_by(Group.id)
        )
    )
    by_name: dict[str, list[Group]] = {}
    for child in children:
        by_name.setdefault(child.name, []).append(child)
    ids = student_ids_by_uid(
        session, instance_id=parent.instance_id, uids=list(dict.fromkeys(r.uid for r in rows))
    )
    key_of = {student_id: key for key, student_id in _parent_pool(session, parent).items()}
    exclusive = not parent.allow_multiple
    problems: list[RowProblem] = []
    first_line: dict[tuple[str, str], int] = {}
    members: dict[str, list[str]] = {}
    pool: dict[str, int] = {}
    for row in rows:
        student_id = ids.get(row.uid)
        seen = (row.uid, "" if exclusive else row.group)
        if student_id is None:
            problems.append(
                RowProblem(row.line, "uid", "not_found", f"no student {row.uid!r} in this instance")
            )
        elif student_id not in key_of:
            problems.append(
                RowProblem(row.line, "uid", "not_a_member", f"{row.uid!r} is not in group {parent.id}")
            )
        elif seen in first_line:
            problems.append(
                RowProblem(row.line, "uid", "duplicate", f"{row.uid!r} is also on line {first_line[seen]}")
            )
        elif len(by_name.get(row.group, [])) > 1:
            problems.append(
                RowProblem(
                    row.line,
                    "group",
                    "ambiguous",
                    f"{len(by_name[row.group])} sub-groups are named {row.group!r}",
                )
            )
        else:
            first_line[seen] = row.line
            members.setdefault(row.group, []).append(key_of[student_id])
            pool[key_of[student_id]] = student_id
    if problems:
        raise InvalidGroupingFile(problems)
    targets = [by_name[name][0] for name in members if name in by_name]
    new_names = [name for name in members if name not in by_name]
    place = Place(siblings=Siblings(None, parent, targets), pool=pool, new_names=new_names)
    groups: list[tuple[Group | None, str, list[str]]] = [(g, g.name, members[g.name]) for g in targets]
    groups += [(None, name, members[name]) for name in new_names]
    saved, _ = _save(session, user_id, place, Options(strategy="import"), groups, 0, request_record)
    return saved


def place_of(session: Session, saved: SavedFormation) -> Place:
    """The place a saved formation was made in (to lock it when undoing): its parent group, or
    its module's root (either deleted takes its formations with it)."""
    if saved.parent_group_id is not None:
        parent = get_in_instance(session, Group, saved.parent_group_id, saved.instance_id, what="group")
        return Place(siblings=Siblings(None, parent), pool={})
    if saved.module_id is None:
        raise Conflict(f"Formation {saved.id} names neither a parent group nor a module.")
    module = get_in_instance(session, Module, saved.module_id, saved.instance_id, what="module")
    return Place(siblings=Siblings(module, None), pool={})


def require_module_manager(session: Session, principal: Principal, saved: SavedFormation) -> None:
    """Forbidden unless the caller manages the module a module-level formation was made in."""
    module = session.scalar(scoped(Module, saved.instance_id).where(Module.id == saved.module_id))
    if module is None:
        raise Conflict(f"Formation {saved.id}'s module is gone.")
    require_manager(session, principal, module)


def undo(session: Session, principal: Principal, *, formation_id: int) -> SavedFormation:
    """Undo a saved formation as the caller may (`revert`): under a parent group, those who manage
    that group (who may change its members, when the formation made no groups); at a module's
    root, its managers. Every surface undoes through here."""
    saved = get_formation(session, instance_id=principal.instance_id, formation_id=formation_id)
    place = place_of(session, saved)
    if place.siblings.parent is not None:
        access.require_manage(
            session, principal, place.siblings.parent, membership=not saved.created_group_ids
        )
    else:
        require_module_manager(session, principal, saved)
    return revert(session, principal, saved=saved, place=place)


def module_history(
    session: Session, principal: Principal, *, module_id: int, page: Page
) -> tuple[list[SavedFormation], int]:
    """The formations saved in the module, newest first, for its managers (Forbidden otherwise)."""
    view = get_module(session, instance_id=principal.instance_id, module_id=module_id)
    if not is_manager(session, principal, view.module):
        raise Forbidden(f"Only a manager of module {view.module.code} reads its formations.")
    return list_module_formations(session, instance_id=principal.instance_id, module_id=module_id, page=page)


def formation_names(session: Session, saved: Sequence[SavedFormation]) -> dict[str, dict[int, str]]:
    """What a history shows beside its formations: the names of their users and parent groups
    (`users` and `groups`, by id), in two queries."""
    if not saved:
        return {"users": {}, "groups": {}}
    instance_id = saved[0].instance_id
    user_ids = sorted({s.user_id for s in saved if s.user_id is not None})
    parent_ids = sorted({s.parent_group_id for s in saved if s.parent_group_id is not None})
    users = session.execute(
        scoped_columns(User, instance_id, User.id, User.name).where(User.id.in_(user_ids))
    )
    groups = session.execute(
        scoped_columns(Group, instance_id, Group.id, Group.name).where(Group.id.in_(parent_ids))
    )
    return {"users": {i: n for i, n in users}, "groups": {i: n for i, n in groups}}


def list_module_formations(
    session: Session, *, instance_id: int, module_id: int, page: Page
) -> tuple[list[SavedFormation], int]:
    """The formations saved in a module (its root and its groups' sub-groups), newest first."""
    rows, total = paginate(
        session,
        scoped(SavedFormation, instance_id)
        .where(SavedFormation.module_id == module_id)
        .order_by(SavedFormation.id.desc()),
        page,
    )
    return [row[0] for row in rows], total
