"""Erasing a student: their record, results, memberships, queue places and learner's keys go,
in one transaction; the formation history and the audit log keep a pseudonym in their place.

The pseudonym (`erased-` and 12 random hex digits) is drawn once for the erasure and derives
from nothing about the student: it says that the same person was named in several records,
never who. A formation's before- and after-states lose the student's memberships, exactly as
the groups did, so that undoing a later formation still restores everyone else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from studentgroups.privacy.export import events_naming, formations_naming, subject_of
from studentgroups.privacy.subjects import (
    Subject,
    pseudonymise_path,
    pseudonymise_request,
    rewrite_event_path,
)
from studentgroups.students.service import StudentView
from studentgroups.tables.audit import AuditEvent
from studentgroups.tables.enrolment import EnrolmentPolicy
from studentgroups.tables.formations import pack_pairs, unpack_pairs
from studentgroups.tables.instances import User
from studentgroups.tenancy import scoped, scoped_delete


@dataclass(frozen=True, slots=True)
class Erased:
    """What an erasure did."""

    view: StudentView
    """The record as it was, for the answer."""
    subject: Subject
    pseudonym: str
    formations: int
    """Formations whose history named the student."""
    audit_events: int
    """Audit events that named the student."""

    def pseudonymise(self, path: str) -> str:
        """A path and query with the student replaced by the pseudonym (the erasure's own event)."""
        return pseudonymise_path(path, self.subject, self.pseudonym)


def new_pseudonym() -> str:
    """A pseudonym that derives from nothing about the student."""
    return f"erased-{secrets.token_hex(6)}"


def erase_student(session: Session, *, instance_id: int, student_id: int) -> Erased:
    """Erase the student (NotFound when not the instance's). Flushes, never commits: the caller's
    transaction holds the whole erasure, so that a failure leaves everything as it was."""
    view, subject = subject_of(session, instance_id=instance_id, student_id=student_id)
    pseudonym = new_pseudonym()
    formations = _pseudonymise_formations(session, instance_id, subject, pseudonym)
    events = _pseudonymise_events(session, instance_id, subject, pseudonym)
    _forget_unplaced(session, instance_id, subject)
    # Their learner's users go with their keys (cascade); results, memberships and queue places
    # go with the student (cascade).
    session.execute(scoped_delete(User, instance_id).where(User.student_id == subject.id))
    session.delete(view[0])
    session.flush()
    return Erased(view=view, subject=subject, pseudonym=pseudonym, formations=formations, audit_events=events)


def _pseudonymise_formations(session: Session, instance_id: int, subject: Subject, pseudonym: str) -> int:
    mentions = list(formations_naming(session, instance_id, subject))
    for mention in mentions:
        formation = mention.formation
        if mention.groups_before:
            formation.before = _without(formation.before, subject.id)
        if mention.groups_after:
            formation.after = _without(formation.after, subject.id)
        if mention.named_in_request:
            formation.request, _ = pseudonymise_request(formation.request, subject, pseudonym)
    session.flush()
    return len(mentions)


def _without(packed: bytes, student_id: int) -> bytes:
    return pack_pairs((g, s) for g, s in unpack_pairs(bytes(packed)) if s != student_id)


def _pseudonymise_events(session: Session, instance_id: int, subject: Subject, pseudonym: str) -> int:
    events: list[AuditEvent] = events_naming(session, instance_id, subject)
    for event in events:
        event.path, _ = rewrite_event_path(event, subject, lambda _raw: pseudonym)
        if event.user_id in subject.user_ids:
            event.actor, event.user_id, event.key_id = pseudonym, None, None
    session.flush()
    return len(events)


def _forget_unplaced(session: Session, instance_id: int, subject: Subject) -> None:
    """A policy's last allocation lists the students it could not place: not this one any more."""
    for policy in session.scalars(
        scoped(EnrolmentPolicy, instance_id).where(EnrolmentPolicy.allocation_unplaced.is_not(None))
    ):
        unplaced = policy.allocation_unplaced or []
        kept = [u for u in unplaced if u.lower() != str(subject.uuid)]
        if len(kept) != len(unplaced):
            policy.allocation_unplaced = kept
    session.flush()
