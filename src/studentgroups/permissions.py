"""Who may do what: the four kinds of key, and what each reads and writes, in one place.

A key is a *learner's* when its user acts for a student (`POST /api_keys` with `student_uid`);
every other key is the *platform's*, and its role says what it may do:

- admin: reads everything of its instance; writes everything, keys and erasure included.
- staff: reads everything, civil profiles included; writes the instance's own groups, clusters,
  students and results, and a module's groups, roster and policy when it manages the module.
  A student on a module's roster or guests it changes or deletes only if it manages every
  module the student is on.
- read-only: reads everything but civil profiles; writes nothing.
- learner: reads its own student record and results, the groups `groupAccess` opens to it
  (`groups.access`) with their members' names and their figures, and its own self-enrolment
  places; with role staff, writes its own self-enrolment and the members of a level-3 group
  it is in. Nothing else.

A learner's key acts as that learner and nothing more, whatever its role: `read-only` lets it
read what the learner may, `staff` also lets it write what a learner may, and `admin` is refused
when the key is made. Another student's record answers a learner as a missing one does (404),
and a call a learner may never make answers 403 before anything is looked up, whatever the ids.

The routes declare their kind with the dependencies of `studentgroups.dependencies` (`Reader`,
`PlatformReader`, `Writer`, `LearnerWriter`, `Admin`); the rows follow the conditions below.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum, StrEnum
from typing import Any

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from studentgroups.auth import Principal
from studentgroups.errors import Forbidden
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.instances import Role
from studentgroups.tables.modules import Module, ModuleStaff
from studentgroups.tables.results import Result
from studentgroups.tables.students import Student
from studentgroups.tenancy import scoped_columns

ROSTER_TYPES = (GroupType.STUDENT_ROSTER, GroupType.GUEST_GROUP)


class KeyKind(StrEnum):
    """What a key is, for the rules: a platform key of a role, or a learner's key."""

    ADMIN = "admin"
    STAFF = "staff"
    READ_ONLY = "read-only"
    LEARNER = "learner"


def kind_of(principal: Principal) -> KeyKind:
    """The kind of the caller's key: a learner's whenever its user acts for a student."""
    if principal.student_id is not None:
        return KeyKind.LEARNER
    return KeyKind(principal.role.value)


LEARNER_REFUSAL = (
    "This is a learner's key: it reads only its own record and results and the groups open to it, "
    "and writes only its own self-enrolment and the members of level-3 groups it is in."
)


# Route-level rules: checked before any row is read, so a refusal says nothing about the ids.


def require_platform(principal: Principal) -> None:
    """Forbidden for a learner's key: the call is the platform's only."""
    if principal.student_id is not None:
        raise Forbidden(LEARNER_REFUSAL)


def require_platform_writer(principal: Principal) -> None:
    """Forbidden unless a platform key whose role writes (staff or admin)."""
    require_platform(principal)
    principal.require(Role.STAFF)


def require_writer(principal: Principal) -> None:
    """Forbidden unless the key writes: a platform staff or admin key, or a learner's key with
    role staff (which then writes only what a learner may: the route's rows decide)."""
    principal.require(Role.STAFF)


def require_admin(principal: Principal) -> None:
    """Forbidden unless a platform admin key (a learner's key is never one)."""
    require_platform(principal)
    principal.require(Role.ADMIN)


# Modules: who manages one.


def managed_modules(principal: Principal) -> Any:
    """The ids of the modules the caller's user created or is staff of (a subquery)."""
    created = scoped_columns(Module, principal.instance_id, Module.id).where(
        Module.creator_id == principal.user_id
    )
    staffed = scoped_columns(ModuleStaff, principal.instance_id, ModuleStaff.module_id).where(
        ModuleStaff.user_id == principal.user_id
    )
    return created.union(staffed)


def manages_module(session: Session, principal: Principal, module: Module) -> bool:
    """Admin keys, the module's creator and its staff manage it; a learner's key never does."""
    if principal.student_id is not None:
        return False
    if principal.role == Role.ADMIN or module.creator_id == principal.user_id:
        return True
    staff = session.scalar(
        scoped_columns(ModuleStaff, module.instance_id, ModuleStaff.user_id).where(
            ModuleStaff.module_id == module.id, ModuleStaff.user_id == principal.user_id
        )
    )
    return staff is not None


def modules_of_student(principal: Principal, student_id: int) -> Any:
    """The ids of the modules whose roster or guests hold the student (a subquery)."""
    return (
        scoped_columns(Membership, principal.instance_id, Group.module_id)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.student_id == student_id, Group.group_type.in_(ROSTER_TYPES))
    )


def modules_readable(principal: Principal) -> ColumnElement[bool]:
    """A condition on `Module`: the modules the caller reads (a learner: those it is on)."""
    if principal.student_id is not None:
        return Module.id.in_(modules_of_student(principal, principal.student_id))
    return true()


# Students and results: what of them a key reads, and who changes a student.


class StudentFields(Enum):
    """Which fields of a student record a caller sees."""

    FULL = "full"
    """Everything: staff and admin keys, and a learner reading their own record."""
    NO_PROFILE = "no_profile"
    """All but the civil profile (name, sexe, date of birth, country and city of residence):
    read-only keys, which a platform gives to reporting that joins on `uid`."""
    MEMBER = "member"
    """A fellow member of a group the learner may see: the ids and the name, nothing else."""


CIVIL_PROFILE = ("name", "sexe", "date_of_birth", "country_of_residence", "city_of_residence")


def may_read_profiles(principal: Principal) -> bool:
    """Whether the key reads every student's civil profile: platform staff and admin keys."""
    return principal.student_id is None and principal.role.rank >= Role.STAFF.rank


def student_fields(principal: Principal, student_id: int) -> StudentFields:
    """What of this student's record the caller sees (they may see the student at all)."""
    if principal.student_id is not None:
        return StudentFields.FULL if student_id == principal.student_id else StudentFields.MEMBER
    return StudentFields.FULL if may_read_profiles(principal) else StudentFields.NO_PROFILE


def students_readable(principal: Principal) -> ColumnElement[bool]:
    """A condition on `Student`: the records the caller reads as records (a learner: its own)."""
    if principal.student_id is not None:
        return Student.id == principal.student_id
    return true()


def results_readable(principal: Principal) -> ColumnElement[bool]:
    """A condition on `Result`: the results the caller reads one by one (a learner: its own)."""
    if principal.student_id is not None:
        return Result.student_id == principal.student_id
    return true()


def require_change_students(session: Session, principal: Principal, student_ids: Sequence[int]) -> None:
    """`require_change_student` for many students at once: one query for each chunk of them."""
    require_platform_writer(principal)
    if principal.role == Role.ADMIN:
        return
    for start in range(0, len(student_ids), 5_000):
        chunk = list(student_ids[start : start + 5_000])
        found = session.execute(
            scoped_columns(Membership, principal.instance_id, Membership.student_id, Module.code)
            .join(Group, Group.id == Membership.group_id)
            .join(Module, Module.id == Group.module_id)
            .where(
                Membership.student_id.in_(chunk),
                Group.group_type.in_(ROSTER_TYPES),
                Module.id.not_in(managed_modules(principal)),
            )
            .limit(1)
        ).first()
        if found is not None:
            raise Forbidden(
                f"Student {found[0]} is on module {found[1]}, which this key's user does not manage: "
                "only admin keys and the managers of every module a student is on change them."
            )


def require_change_student(session: Session, principal: Principal, student_id: int) -> None:
    """Forbidden unless the caller may change or delete this student.

    Admin keys may; a staff key may change a student on no module's roster or guests, and one
    that is, only if it manages every such module (taking a student away from a module is its
    managers' call); read-only and learners' keys never may.
    """
    require_platform_writer(principal)
    if principal.role == Role.ADMIN:
        return
    unmanaged = session.scalar(
        select(Module.code)
        .where(
            Module.instance_id == principal.instance_id,
            Module.id.in_(modules_of_student(principal, student_id)),
            Module.id.not_in(managed_modules(principal)),
        )
        .limit(1)
    )
    if unmanaged is not None:
        raise Forbidden(
            f"Student {student_id} is on module {unmanaged}, which this key's user does not manage: "
            "only admin keys and the managers of every module a student is on change or delete them."
        )
