"""Importing a OneRoster bundle: classes become modules, student enrollments their rosters,
teacher enrollments their managers, users and demographics the students' profiles and attributes.

Re-importing is idempotent: a module is found by its class's `sourcedId`, a student by uid (the
user's `sourcedId`), a teacher's user by its `sourcedId`, and a changed row updates them. Where
the enrollments file is bulk, it is a class's whole roster: a student the file no longer holds in
a class leaves its roster and its groups (`formations.service.leave_module`: recorded in the
formation history, undoable, and reported), and a teacher who is not in it any more stops
managing it (only users an import made or linked: a manager granted by hand stays). A delta
file changes only the rows it lists. Every problem, in the files or against the database (a
module code another module holds), is named by file, line and column, and nothing is written
while one stands. Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Session

from studentgroups.csv_import import OnProgress, RowProblem, counted
from studentgroups.errors import BadRequest
from studentgroups.formations.service import leave_module
from studentgroups.instances.service import get_instance, refuse_reserved_name
from studentgroups.lookup import chunk_size, one_of, student_ids_by_uid
from studentgroups.modules.service import ModuleView, NewModule, add_to_rosters, create_modules, views_of
from studentgroups.oneroster.bundle import Bundle, ClassRow, EnrollmentRow, InvalidBundle
from studentgroups.students.service import update_profiles, upsert_students
from studentgroups.tables.groups import Membership
from studentgroups.tables.instances import User
from studentgroups.tables.modules import Module, ModuleStaff
from studentgroups.tenancy import scoped, scoped_columns, scoped_delete


@dataclass(slots=True)
class ModuleSync:
    """What an import did to one module."""

    code: str
    created: bool = False
    updated: bool = False
    joined: list[str] = field(default_factory=list)
    """The uids put on its roster."""
    left: list[str] = field(default_factory=list)
    """The uids that left its roster and groups."""
    managers_added: int = 0
    managers_removed: int = 0
    formation_ids: list[int] = field(default_factory=list)
    """The formations that record the leavers (undo puts them back)."""


@dataclass(slots=True)
class OneRosterImport:
    """What an import did, module by module and in all."""

    system: str
    modules: list[ModuleSync]
    students_created: int = 0
    students_updated: int = 0
    users_created: int = 0
    enrollments_ignored: int = 0
    """Enrollments of other roles than student and teacher (administrator, proctor, …)."""

    def summary(self) -> list[str]:
        """A few lines for people, then one per module that changed."""
        source = f" from {self.system}" if self.system else ""
        created = sum(m.created for m in self.modules)
        updated = sum(m.updated and not m.created for m in self.modules)
        classes = "1 class" if len(self.modules) == 1 else f"{len(self.modules)} classes"
        lines = [
            f"{classes}{source}: {created} modules created, {updated} updated",
            f"students: {self.students_created} created, {self.students_updated} updated; "
            f"{sum(len(m.joined) for m in self.modules)} joined a roster, "
            f"{sum(len(m.left) for m in self.modules)} left one",
            f"managers: {sum(m.managers_added for m in self.modules)} added, "
            f"{sum(m.managers_removed for m in self.modules)} removed ({self.users_created} new users); "
            f"{counted(self.enrollments_ignored, 'enrollment')} of other roles not kept",
        ]
        for m in self.modules:
            if m.left:
                shown = ", ".join(m.left[:10]) + (f", … ({len(m.left)})" if len(m.left) > 10 else "")
                undo = ", ".join(map(str, m.formation_ids))
                lines.append(f"{m.code}: left: {shown}; undo with formation(s) {undo}")
        return lines


def import_bundle(
    session: Session,
    *,
    instance_id: int,
    bundle: Bundle,
    user_id: int | None = None,
    on_progress: OnProgress | None = None,
) -> OneRosterImport:
    """Import a checked bundle into the instance, all or none (InvalidBundle when a row clashes
    with the database); `user_id` is who imports (the modules' creator, the formations' author)."""
    get_instance(session, instance_id=instance_id)
    problems: list[RowProblem] = []
    modules = _modules(session, instance_id, bundle, user_id, problems)
    enrollments = [e for e in bundle.enrollments if e.role in ("student", "teacher")]
    for enrollment in enrollments if not problems else []:
        if enrollment.class_id not in modules:
            message = f"no class {enrollment.class_id!r} in the bundle or imported before"
            file = bundle.file("enrollments")
            problems.append(RowProblem(enrollment.line, "classSourcedId", "not_found", message, file))
    if problems:
        raise InvalidBundle(problems)
    report = OneRosterImport(
        system=bundle.system,
        modules=[],
        enrollments_ignored=len(bundle.enrollments) - len(enrollments),
    )
    student_ids = _students(session, instance_id, bundle, enrollments, report, problems, on_progress)
    teacher_ids = _teachers(session, instance_id, bundle, enrollments, report, problems)
    if problems:
        raise InvalidBundle(problems)
    by_class: dict[str, list[EnrollmentRow]] = {}
    for enrollment in enrollments:
        by_class.setdefault(enrollment.class_id, []).append(enrollment)
    gone_users = {u.sourced_id for u in bundle.users.values() if u.deleted}
    staff = _current_staff(session, instance_id, [v.module.id for v, _ in modules.values()])
    for class_id, (view, sync) in modules.items():
        managers = staff.get(view.module.id, {})
        rows = by_class.get(class_id, [])
        _sync_staff(session, instance_id, view, rows, managers, teacher_ids, gone_users, bundle, sync)
        report.modules.append(sync)
    _sync_rosters(
        session, instance_id, user_id, bundle, modules, by_class, student_ids, gone_users, on_progress
    )
    session.flush()
    return report


def _sync_rosters(
    session: Session,
    instance_id: int,
    user_id: int | None,
    bundle: Bundle,
    modules: Mapping[str, tuple[ModuleView, ModuleSync]],
    by_class: Mapping[str, Sequence[EnrollmentRow]],
    student_ids: Mapping[str, int],
    gone_users: set[str],
    on_progress: OnProgress | None,
) -> None:
    """Every module's roster as the bundle has it: the joiners of all of them put on in one write,
    the leavers of each taken off their groups (`leave_module`)."""
    uid_of = {student_id: uid for uid, student_id in student_ids.items()}
    rosters = _current_members(session, instance_id, [v.roster_group_id for v, _ in modules.values()])
    joining: dict[int, tuple[ModuleView, list[int]]] = {}
    leaving: list[tuple[ModuleView, ModuleSync, list[int]]] = []
    for class_id, (view, sync) in modules.items():
        roster = rosters.get(view.roster_group_id, set())
        rows = by_class.get(class_id, [])
        joiners, leavers = _roster_change(
            rows, roster, student_ids, uid_of, gone_users, bundle.bulk("enrollments")
        )
        if joiners:
            joining[view.module.id] = (view, joiners)
        if leavers:
            leaving.append((view, sync, leavers))
    added = add_to_rosters(session, additions=joining)
    for view, sync in modules.values():
        if view.module.id in added:
            sync.joined = [uid_of[s] for s in added[view.module.id].added]
    for done, (view, sync, leavers) in enumerate(leaving, start=1):
        saved = leave_module(
            session,
            user_id,
            module=view.module,
            student_ids=leavers,
            request_record={"source": "oneroster", "system": bundle.system},
        )
        sync.left = sorted(uid_of.get(s, str(s)) for s in leavers)
        sync.formation_ids = [f.id for f in saved]
        if on_progress is not None:
            on_progress("recording leavers", done, len(leaving))


def _description(bundle: Bundle, row: ClassRow) -> str | None:
    course = bundle.courses.get(row.course_id)
    terms = [bundle.sessions[t].title for t in row.term_ids if t in bundle.sessions]
    parts = ([course.title] if course and course.title else []) + terms
    return ", ".join(parts) or None


def _modules(
    session: Session,
    instance_id: int,
    bundle: Bundle,
    user_id: int | None,
    problems: list[RowProblem],
) -> dict[str, tuple[ModuleView, ModuleSync]]:
    """Each class's module and its report (by class sourcedId), found by source id (the bundle's classes
    and the classes its enrollments name), adopted by code (a module made by hand, no source),
    or made; a class whose code another module holds is a problem on its line."""
    wanted = list(dict.fromkeys([*bundle.classes, *(e.class_id for e in bundle.enrollments)]))
    found = {m.source_id: m for m in _in_chunks(session, Module, Module.source_id, instance_id, wanted)}
    live = [row for row in bundle.classes.values() if not row.deleted]
    by_code = {
        m.code: m for m in _in_chunks(session, Module, Module.code, instance_id, [r.code for r in live])
    }
    kept: list[tuple[ClassRow, Module, ModuleSync]] = []
    new: list[ClassRow] = []
    for row in live:
        module = found.get(row.sourced_id)
        holder = by_code.get(row.code)
        if (
            holder is not None
            and holder is not module
            and (module is not None or holder.source_id is not None)
        ):
            message = f"module {holder.id} of this instance has the code {row.code!r}"
            problems.append(RowProblem(row.line, "classCode", "taken", message, bundle.file("classes")))
            continue
        module = module or holder
        if module is None:
            new.append(row)
            continue
        changes = {
            "source_id": row.sourced_id,
            "code": row.code,
            "name": row.title,
            "description": _description(bundle, row),
        }
        changed = {k: v for k, v in changes.items() if getattr(module, k) != v}
        for name, value in changed.items():
            setattr(module, name, value)
        kept.append((row, module, ModuleSync(row.code, updated=bool(changed))))
    if problems:
        return {}
    earlier = [found[c] for c in wanted if c in found and c not in bundle.classes]  # a delta's enrollments
    session.flush()
    made = create_modules(
        session,
        instance_id=instance_id,
        modules=[NewModule(r.code, r.title, _description(bundle, r), r.sourced_id) for r in new],
        creator_id=user_id,
    )
    views = dict(zip([m.id for _, m, _ in kept], views_of(session, [m for _, m, _ in kept]), strict=True))
    before = views_of(session, earlier)
    return {
        **{row.sourced_id: (views[module.id], sync) for row, module, sync in kept},
        **{
            row.sourced_id: (view, ModuleSync(row.code, created=True, updated=True))
            for row, view in zip(new, made, strict=True)
        },
        **{view.module.source_id or "": (view, ModuleSync(view.module.code)) for view in before},
    }


def _in_chunks(
    session: Session, table: Any, column: Any, instance_id: int, values: Sequence[str]
) -> list[Any]:
    rows: list[Any] = []
    size = chunk_size(session)
    for start in range(0, len(values), size):
        chunk = list(values[start : start + size])
        rows += session.scalars(scoped(table, instance_id).where(one_of(session, column, chunk, String)))
    return rows


def _students(
    session: Session,
    instance_id: int,
    bundle: Bundle,
    enrollments: Sequence[EnrollmentRow],
    report: OneRosterImport,
    problems: list[RowProblem],
    on_progress: OnProgress | None,
) -> dict[str, int]:
    """uid -> student id of every user enrolled as a student (made when new) and every user of
    the file already a student; each has its profile and attributes from the bundle."""
    enrolled = list(dict.fromkeys(e.user_id for e in enrollments if e.role == "student"))
    candidates = list(dict.fromkeys([*enrolled, *bundle.users]))
    known = student_ids_by_uid(session, instance_id=instance_id, uids=candidates)
    missing = (
        {e.user_id for e in enrollments if e.role == "student" and not e.deleted}
        - set(bundle.users)
        - set(known)
    )
    for enrollment in enrollments:
        if enrollment.user_id in missing:
            message = f"no user {enrollment.user_id!r} in the bundle, nor a student imported before"
            problems.append(
                RowProblem(enrollment.line, "userSourcedId", "not_found", message, bundle.file("enrollments"))
            )
    new_uids = [u for u in enrolled if u not in known and u in bundle.users and not bundle.users[u].deleted]
    profiles = {uid: _profile(bundle, uid) for uid in [*new_uids, *(u for u in known if u in bundle.users)]}
    before = len(known)
    ids = upsert_students(
        session,
        instance_id=instance_id,
        students=[profiles[u] for u in new_uids],
        known=known,
        on_progress=None
        if on_progress is None
        else lambda done, total: on_progress("creating students", done, total),
    )
    report.students_created = len(ids) - before
    report.students_updated = update_profiles(
        session, instance_id=instance_id, profiles={known[u]: profiles[u] for u in known if u in profiles}
    )
    return ids


def _profile(bundle: Bundle, uid: str) -> dict[str, Any]:
    """A student's columns from the bundle: the name from users.csv, the rest from demographics.csv."""
    profile: dict[str, Any] = {"uid": uid, "name": bundle.users[uid].name or None}
    demographics = bundle.demographics.get(uid)
    if demographics is not None and not demographics.deleted:
        profile |= {
            "sexe": demographics.sexe,
            "date_of_birth": demographics.birth_date,
            "attributes": dict(demographics.attributes),
        }
    return profile


def _teachers(
    session: Session,
    instance_id: int,
    bundle: Bundle,
    enrollments: Sequence[EnrollmentRow],
    report: OneRosterImport,
    problems: list[RowProblem],
) -> dict[str, int]:
    """user sourcedId -> user id of every user enrolled as a teacher: found by source id, linked
    by name (a user made by hand with the teacher's username, not a learner's), or made."""
    wanted = list(dict.fromkeys(e.user_id for e in enrollments if e.role == "teacher"))
    found = {u.source_id: u for u in _in_chunks(session, User, User.source_id, instance_id, wanted)}
    names = {sid: (bundle.users[sid].username or sid) for sid in wanted if sid in bundle.users}
    by_name = {u.name: u for u in _in_chunks(session, User, User.name, instance_id, list(names.values()))}
    users: dict[str, User] = {}
    for sourced_id in wanted:
        user = found.get(sourced_id)
        if user is None and sourced_id in bundle.users:
            row = bundle.users[sourced_id]
            try:
                refuse_reserved_name(names[sourced_id], field="username")
            except BadRequest as refusal:
                message = refusal.errors[0].message if refusal.errors else refusal.detail
                problems.append(
                    RowProblem(row.line, "username", "reserved_prefix", message, bundle.file("users"))
                )
                continue
            holder = by_name.get(names[sourced_id])
            if holder is not None and (holder.source_id is not None or holder.student_id is not None):
                message = f"user {holder.id} of this instance has the name {names[sourced_id]!r}"
                problems.append(RowProblem(row.line, "username", "taken", message, bundle.file("users")))
                continue
            user = holder or User(instance_id=instance_id, name=names[sourced_id])
            user.source_id = sourced_id
            if holder is None:
                session.add(user)
                report.users_created += 1
        if user is not None:
            users[sourced_id] = user
    for enrollment in enrollments:
        unknown = enrollment.user_id not in users and enrollment.user_id not in bundle.users
        if enrollment.role == "teacher" and unknown and not enrollment.deleted:
            message = f"no user {enrollment.user_id!r} in the bundle, nor a teacher imported before"
            problems.append(
                RowProblem(enrollment.line, "userSourcedId", "not_found", message, bundle.file("enrollments"))
            )
    session.flush()
    return {sourced_id: user.id for sourced_id, user in users.items()}


def _current_members(session: Session, instance_id: int, group_ids: Sequence[int]) -> dict[int, set[int]]:
    members: dict[int, set[int]] = {}
    for start in range(0, len(group_ids), 1_000):
        rows = session.connection().execute(
            scoped_columns(Membership, instance_id, Membership.group_id, Membership.student_id).where(
                Membership.group_id.in_(list(group_ids[start : start + 1_000]))
            )
        )
        for group_id, student_id in rows:
            members.setdefault(group_id, set()).add(student_id)
    return members


def _current_staff(
    session: Session, instance_id: int, module_ids: Sequence[int]
) -> dict[int, dict[int, str | None]]:
    """module id -> its staff users' ids -> their source id (None: granted by hand)."""
    staff: dict[int, dict[int, str | None]] = {}
    for start in range(0, len(module_ids), 1_000):
        rows = session.connection().execute(
            scoped_columns(ModuleStaff, instance_id, ModuleStaff.module_id, ModuleStaff.user_id)
            .add_columns(User.source_id)
            .join(User, User.id == ModuleStaff.user_id)
            .where(ModuleStaff.module_id.in_(list(module_ids[start : start + 1_000])))
        )
        for module_id, user_id, source_id in rows:
            staff.setdefault(module_id, {})[user_id] = source_id
    return staff


def _wanted(
    rows: Iterable[EnrollmentRow], role: str, current: Iterable[str], gone_users: set[str], bulk: bool
) -> set[str]:
    """Who the class holds in `role` after the import: the file's live rows (bulk), or the ones
    held before with the file's changes (delta); a withdrawn user holds nothing."""
    chosen = [r for r in rows if r.role == role]
    held = set() if bulk else set(current)
    held |= {r.user_id for r in chosen if not r.deleted}
    held -= {r.user_id for r in chosen if r.deleted}
    return held - gone_users


def _roster_change(
    rows: Sequence[EnrollmentRow],
    current: set[int],
    student_ids: Mapping[str, int],
    uid_of: Mapping[int, str],
    gone_users: set[str],
    bulk: bool,
) -> tuple[list[int], list[int]]:
    """Who joins a class's roster and who leaves it (student ids): by bulk, the file's live rows
    are the roster; by delta, its rows change the roster as it is."""
    held_uids = [uid_of[s] for s in current if s in uid_of]
    wanted = _wanted(rows, "student", held_uids, gone_users, bulk)
    joiners = [student_ids[u] for u in sorted(wanted) if u in student_ids and student_ids[u] not in current]
    if bulk:
        wanted_ids = {student_ids[u] for u in wanted if u in student_ids}
        return joiners, sorted(current - wanted_ids)
    return joiners, sorted(s for s in current if s in uid_of and uid_of[s] not in wanted)


def _sync_staff(
    session: Session,
    instance_id: int,
    view: ModuleView,
    rows: Sequence[EnrollmentRow],
    current: Mapping[int, str | None],
    teacher_ids: Mapping[str, int],
    gone_users: set[str],
    bundle: Bundle,
    sync: ModuleSync,
) -> None:
    imported = {source: user for user, source in current.items() if source is not None}
    wanted = _wanted(rows, "teacher", imported, gone_users, bundle.bulk("enrollments"))
    add = [teacher_ids[t] for t in sorted(wanted) if t in teacher_ids and teacher_ids[t] not in current]
    drop = [user for source, user in imported.items() if source not in wanted]
    session.add_all([ModuleStaff(module_id=view.module.id, user_id=u, instance_id=instance_id) for u in add])
    if drop:
        session.execute(
            scoped_delete(ModuleStaff, instance_id).where(
                ModuleStaff.module_id == view.module.id, ModuleStaff.user_id.in_(drop)
            )
        )
    sync.managers_added, sync.managers_removed = len(add), len(drop)
