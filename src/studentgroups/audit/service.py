"""Recording a committed write, and reading the log back, one instance at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from studentgroups.listing import Page
from studentgroups.tables.audit import AuditEvent
from studentgroups.tenancy import paginate, scoped

MAX_PATH = 2048


@dataclass(frozen=True, slots=True)
class Write:
    """Who made a write and what it was, as the log keeps it."""

    instance_id: int
    actor: str
    method: str
    path: str
    operation: str
    user_id: int | None = None
    key_id: int | None = None
    request_id: str | None = None


def record(session: Session, write: Write) -> None:
    """Add the write's event to the session's transaction: both commit, or neither does."""
    session.add(
        AuditEvent(
            instance_id=write.instance_id,
            actor=write.actor[:255],
            method=write.method,
            path=write.path[:MAX_PATH],
            operation=write.operation[:128],
            user_id=write.user_id,
            key_id=write.key_id,
            request_id=write.request_id,
        )
    )


@dataclass(frozen=True, slots=True)
class EventFilter:
    """What an admin asks of the log; every field optional."""

    since: datetime | None = None
    until: datetime | None = None
    user_id: int | None = None
    key_id: int | None = None
    operation: str | None = None
    method: str | None = None


def list_events(
    session: Session, *, instance_id: int, where: EventFilter, page: Page
) -> tuple[Sequence[AuditEvent], int]:
    """The instance's events that match, newest first, and how many match in all."""
    stmt = scoped(AuditEvent, instance_id)
    if where.since is not None:
        stmt = stmt.where(AuditEvent.at >= where.since)
    if where.until is not None:
        stmt = stmt.where(AuditEvent.at < where.until)
    if where.user_id is not None:
        stmt = stmt.where(AuditEvent.user_id == where.user_id)
    if where.key_id is not None:
        stmt = stmt.where(AuditEvent.key_id == where.key_id)
    if where.operation is not None:
        stmt = stmt.where(AuditEvent.operation == where.operation)
    if where.method is not None:
        stmt = stmt.where(AuditEvent.method == where.method.upper())
    rows, total = paginate(session, stmt.order_by(AuditEvent.id.desc()), page)
    return [row[0] for row in rows], total
