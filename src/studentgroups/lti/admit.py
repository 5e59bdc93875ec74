"""What a checked launch makes: the course's module (on its first launch), the person (a member
of staff's user and the module's management, or a learner's student on its roster), and the
console session they land in.

LTI roles (LIS vocabulary, context roles): Instructor, TeachingAssistant (a sub-role of
Instructor) and ContentDeveloper make a module manager, Learner a learner; a launch with none
of them is refused (`roles`). A person is found again by the platform's `sub`; the first time,
a learner is the student whose uid is their `lis.person_sourcedid` (so a student imported from
the SIS by OneRoster is the same student), else a new one with that uid (or the `sub`), and a
member of staff the user whose `source_id` is it, else a new user `lti:<platform>:<sub>`.
Flushes, never commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from studentgroups.console.service import OpenedSession, open_session
from studentgroups.instances.service import ensure_user, learner_user
from studentgroups.lti.launch import AGS, LIS, NRPS, Launch, LaunchRefused
from studentgroups.modules.service import (
    ModuleView,
    NewModule,
    add_to_roster_group,
    create_modules,
    get_module,
    set_staff,
)
from studentgroups.roles import Role
from studentgroups.students.service import create_student
from studentgroups.tables.instances import User
from studentgroups.tables.lti import LtiAccount, LtiContext, LtiPlatform
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import related_in_instance, scoped

MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership"
STAFF_ROLES = frozenset(
    {
        f"{MEMBERSHIP}#Instructor",
        f"{MEMBERSHIP}#ContentDeveloper",
        f"{MEMBERSHIP}/Instructor#TeachingAssistant",
        f"{MEMBERSHIP}#TeachingAssistant",  # as some platforms send it
        "Instructor",  # the short forms the specification still admits (LTI 1.3 core, A.2.2)
        "ContentDeveloper",
        "TeachingAssistant",
    }
)
LEARNER_ROLES = frozenset({f"{MEMBERSHIP}#Learner", "Learner"})
MAX_CODE = 64


@dataclass(frozen=True, slots=True)
class Admitted:
    """Where the launch landed: the module, whether as staff, and the session it opened."""

    module: ModuleView
    staff: bool
    opened: OpenedSession


def is_staff(roles: list[str]) -> bool | None:
    """True for a staff role, False for a learner's, None for neither."""
    if any(r in STAFF_ROLES for r in roles):
        return True
    if any(r in LEARNER_ROLES for r in roles):
        return False
    return None


def _free_code(session: Session, instance_id: int, wanted: str, context_id: str) -> str:
    """The context's label as the module's code, made unique by a short hash of the context id."""
    code = " ".join(wanted.split())[:MAX_CODE] or "LTI"
    taken = session.scalar(scoped(Module, instance_id).where(Module.code == code))
    if taken is None:
        return code
    tail = "-" + hashlib.sha256(context_id.encode()).hexdigest()[:8]
    return code[: MAX_CODE - len(tail)] + tail


def _services(launch: Launch) -> dict[str, Any]:
    nrps = launch.claims.get(NRPS)
    ags = launch.claims.get(AGS)
    scopes = ags.get("scope") if isinstance(ags, dict) else None
    return {
        "memberships_url": nrps.get("context_memberships_url") if isinstance(nrps, dict) else None,
        "lineitems_url": ags.get("lineitems") if isinstance(ags, dict) else None,
        "scopes": [s for s in scopes if isinstance(s, str)] if isinstance(scopes, list) else [],
    }


def module_of_context(session: Session, platform: LtiPlatform, launch: Launch) -> ModuleView:
    """The module the launch's context is, made on its first launch; the services the platform
    offers for it are kept up to date at every launch."""
    context = launch.context
    context_id = str(context["id"])
    found = session.scalar(
        scoped(LtiContext, platform.instance_id).where(
            LtiContext.platform_id == platform.id, LtiContext.context_id == context_id
        )
    )
    services = _services(launch)
    if found is None:
        label = str(context.get("label") or context.get("title") or "LTI")
        title = str(context.get("title") or label)[:255]
        (view,) = create_modules(
            session,
            instance_id=platform.instance_id,
            modules=[NewModule(_free_code(session, platform.instance_id, label, context_id), title)],
            creator_id=None,
        )
        found = LtiContext(
            instance_id=platform.instance_id,
            platform_id=platform.id,
            context_id=context_id,
            module_id=view.module.id,
        )
        session.add(found)
    for name, value in services.items():
        if value:
            setattr(found, name, value)
    session.flush()
    return get_module(session, instance_id=platform.instance_id, module_id=found.module_id)


def _account(session: Session, platform: LtiPlatform, sub: str) -> LtiAccount:
    account = session.scalar(
        scoped(LtiAccount, platform.instance_id).where(
            LtiAccount.platform_id == platform.id, LtiAccount.sub == sub
        )
    )
    if account is None:
        account = LtiAccount(instance_id=platform.instance_id, platform_id=platform.id, sub=sub)
        session.add(account)
    return account


def _sourced_id(claims: dict[str, Any]) -> str | None:
    lis = claims.get(LIS)
    value = lis.get("person_sourcedid") if isinstance(lis, dict) else None
    return value[:255] if isinstance(value, str) and value.strip() else None


def staff_user(session: Session, platform: LtiPlatform, sub: str, claims: dict[str, Any]) -> User:
    """The user a member of staff of the platform is (made the first time)."""
    account = _account(session, platform, sub)
    if account.user_id is not None:
        user = related_in_instance(session, User, account.user_id, platform.instance_id)
        if user is not None and user.student_id is None:
            return user
    sourced = _sourced_id(claims)
    user = None
    if sourced is not None:
        user = session.scalar(scoped(User, platform.instance_id).where(User.source_id == sourced))
        if user is not None and user.student_id is not None:
            user = None  # a learner's user never acts for staff
    if user is None:
        user = ensure_user(session, instance_id=platform.instance_id, name=f"lti:{platform.id}:{sub}"[:255])
        if sourced is not None and user.source_id is None:
            taken = session.scalar(scoped(User, platform.instance_id).where(User.source_id == sourced))
            if taken is None:
                user.source_id = sourced
    account.user_id = user.id
    session.flush()
    return user


def learner_student(session: Session, platform: LtiPlatform, sub: str, claims: dict[str, Any]) -> Student:
    """The student a learner of the platform is (made the first time, named as the LMS names them)."""
    account = _account(session, platform, sub)
    if account.student_id is not None:
        student = related_in_instance(session, Student, account.student_id, platform.instance_id)
        if student is not None:
            return student
    uid = _sourced_id(claims) or sub[:255]
    student = session.scalar(scoped(Student, platform.instance_id).where(Student.uid == uid))
    if student is None:
        name = claims.get("name")
        fields = {
            "uid": uid,
            "name": " ".join(name.split())[:255] if isinstance(name, str) and name.strip() else None,
        }
        student, _ = create_student(
            session, instance_id=platform.instance_id, fields=fields, student_group_id=None
        )
    account.student_id = student.id
    session.flush()
    return student


def admit(session: Session, launch: Launch) -> Admitted:
    """Make what the launch stands for, and open the console session it lands in."""
    platform = launch.platform
    staff = is_staff(launch.roles)
    if staff is None:
        raise LaunchRefused("roles", "none of Instructor, TeachingAssistant, ContentDeveloper or Learner")
    view = module_of_context(session, platform, launch)
    if staff:
        user = staff_user(session, platform, launch.sub, launch.claims)
        set_staff(
            session, instance_id=platform.instance_id, module_id=view.module.id, user_ids=[user.id], add=True
        )
    else:
        student = learner_student(session, platform, launch.sub, launch.claims)
        add_to_roster_group(
            session, module=view.module, group_id=view.roster_group_id, guests=False, student_ids=[student.id]
        )
        user = learner_user(
            session, instance_id=platform.instance_id, student_uid=student.uid, user_name=None
        )
    opened = open_session(session, platform.instance_id, user.id, platform.key_id, Role.STAFF)
    return Admitted(module=view, staff=staff, opened=opened)
