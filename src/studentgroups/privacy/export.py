"""Everything held about one student, as one document: a data-subject access request."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session, aliased

from studentgroups.audit.schemas import event_out
from studentgroups.db import utcnow
from studentgroups.listing import Page
from studentgroups.privacy.schemas import (
    ExportedFormation,
    ExportedKey,
    ExportedMembership,
    ExportedQueuePlace,
    StudentExport,
)
from studentgroups.privacy.subjects import Subject, event_candidates, names_in_event, pseudonymise_request
from studentgroups.results import service as results
from studentgroups.results.schemas import ResultOut
from studentgroups.students import service as students
from studentgroups.students.schemas import student_out
from studentgroups.tables.audit import AuditEvent
from studentgroups.tables.enrolment import WaitlistEntry
from studentgroups.tables.formations import SavedFormation, unpack_pairs
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.instances import ApiKey, Role, User
from studentgroups.tenancy import scoped, scoped_columns

FORMATIONS_AT_ONCE = 20
"""Formations read per round trip while looking for a student: each holds up to megabytes of history."""


def subject_of(
    session: Session, *, instance_id: int, student_id: int
) -> tuple[students.StudentView, Subject]:
    """The student (NotFound when not the instance's) and how records name them."""
    view = students.get_student(session, instance_id=instance_id, student_id=student_id)
    student = view[0]
    user_ids = tuple(
        session.scalars(scoped_columns(User, instance_id, User.id).where(User.student_id == student.id))
    )
    return view, Subject(id=student.id, uid=student.uid, uuid=student.uuid, user_ids=user_ids)


@dataclass(frozen=True, slots=True)
class FormationMention:
    """A saved formation that names the student, and where."""

    formation: SavedFormation
    groups_before: list[int]
    groups_after: list[int]
    named_in_request: bool


def _groups_of(packed: bytes, student_id: int) -> list[int]:
    """The groups a packed before- or after-state puts the student in."""
    return sorted({abs(g) for g, s in unpack_pairs(bytes(packed)) if s == student_id})


def formations_naming(session: Session, instance_id: int, subject: Subject) -> Iterator[FormationMention]:
    """Every saved formation of the instance whose history names the student, oldest first.

    Reads every formation of the instance a few at a time: a student may have left the groups
    a formation placed them in, so no index says which formations name them.
    """
    stmt = (
        scoped(SavedFormation, instance_id)
        .order_by(SavedFormation.id)
        .execution_options(yield_per=FORMATIONS_AT_ONCE)
    )
    for formation in session.scalars(stmt):
        before, after = _groups_of(formation.before, subject.id), _groups_of(formation.after, subject.id)
        _, in_request = pseudonymise_request(formation.request or {}, subject, "")
        if before or after or in_request:
            yield FormationMention(formation, before, after, in_request)


def events_naming(session: Session, instance_id: int, subject: Subject) -> list[AuditEvent]:
    """The audit events that name the student, oldest first."""
    candidates = session.scalars(
        scoped(AuditEvent, instance_id).where(event_candidates(subject)).order_by(AuditEvent.id)
    )
    return [event for event in candidates if names_in_event(event, subject)]


def _memberships(session: Session, instance_id: int, student_id: int) -> list[ExportedMembership]:
    rows = session.execute(
        scoped_columns(Membership, instance_id, Group, Membership.created_at)
        .join(Group, Group.id == Membership.group_id)
        .where(Membership.student_id == student_id)
        .order_by(Group.id)
    )
    return [
        ExportedMembership(
            group_id=group.id,
            group_uuid=str(group.uuid),
            name=group.name,
            group_type=GroupType(group.group_type),
            module_id=group.module_id,
            parent_group_id=group.parent_group_id,
            since=since,
        )
        for group, since in rows
    ]


def _queue_places(session: Session, instance_id: int, student_id: int) -> list[ExportedQueuePlace]:
    ahead = aliased(WaitlistEntry)
    position = (
        scoped_columns(ahead, instance_id, func.count())
        .where(ahead.group_id == WaitlistEntry.group_id, ahead.id <= WaitlistEntry.id)
        .scalar_subquery()
    )
    rows = session.execute(
        scoped_columns(
            WaitlistEntry,
            instance_id,
            Group.id,
            Group.name,
            Group.module_id,
            position,
            WaitlistEntry.created_at,
        )
        .join(Group, Group.id == WaitlistEntry.group_id)
        .where(WaitlistEntry.student_id == student_id)
        .order_by(WaitlistEntry.id)
    )
    return [
        ExportedQueuePlace(group_id=g, name=name, module_id=module_id, position=int(place), since=since)
        for g, name, module_id, place, since in rows
    ]


def _keys(session: Session, instance_id: int, student_id: int) -> list[ExportedKey]:
    rows = session.execute(
        scoped_columns(ApiKey, instance_id, ApiKey, User.name)
        .join(User, User.id == ApiKey.user_id)
        .where(User.student_id == student_id)
        .order_by(ApiKey.id)
    )
    return [
        ExportedKey(
            id=key.id,
            prefix=key.prefix,
            role=Role(key.role),
            user=user,
            created_at=key.created_at,
            revoked_at=key.revoked_at,
        )
        for key, user in rows
    ]


def _results(session: Session, instance_id: int, student_id: int) -> list[ResultOut]:
    rows, _ = results.list_results(
        session,
        instance_id=instance_id,
        page=Page(limit=None, offset=0),
        matching=results.ResultsMatching(student_id=student_id),
    )
    return [ResultOut.model_validate(dict(row._mapping)) for row in rows]


def _formation_out(mention: FormationMention) -> ExportedFormation:
    formation: Any = mention.formation
    return ExportedFormation(
        formation_id=formation.id,
        module_id=formation.module_id,
        parent_group_id=formation.parent_group_id,
        strategy=formation.strategy,
        created_at=formation.created_at,
        reverted_at=formation.reverted_at,
        groups_before=mention.groups_before,
        groups_after=mention.groups_after,
        named_in_request=mention.named_in_request,
    )


def export_student(session: Session, *, instance_id: int, student_id: int) -> StudentExport:
    """Everything the instance holds about the student (NotFound when not the instance's)."""
    view, subject = subject_of(session, instance_id=instance_id, student_id=student_id)
    return StudentExport(
        exported_at=utcnow(),
        student=student_out(view),
        memberships=_memberships(session, instance_id, student_id),
        results=_results(session, instance_id, student_id),
        waiting_lists=_queue_places(session, instance_id, student_id),
        keys=_keys(session, instance_id, student_id),
        formations=[_formation_out(m) for m in formations_naming(session, instance_id, subject)],
        audit_events=[event_out(e) for e in events_naming(session, instance_id, subject)],
    )
