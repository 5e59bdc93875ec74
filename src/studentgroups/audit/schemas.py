"""Wire shape of an audit event (management surface, admins only)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from studentgroups.tables.audit import AuditEvent
from studentgroups.wire import DomoscioTimestamp


class AuditEventOut(BaseModel):
    """A committed write: who made it, what it was, when."""

    id: int = Field(description="The event's id; later events have larger ids.")
    at: DomoscioTimestamp = Field(description="When the write was made (UTC).")
    actor: str = Field(description="Who: the key's user as named then, or `cli:<os user>` for the CLI.")
    user_id: int | None = Field(description="The user's id; null for the CLI.")
    api_key_id: int | None = Field(description="The key used; null for the CLI.")
    method: str = Field(description="The HTTP method, or `CLI`.")
    path: str = Field(description="What: the path and query called, or the CLI command.")
    operation: str = Field(description="The operation's name, e.g. `create_student_group`.")
    request_id: str | None = Field(description="The request's `X-Request-ID`, to find it in the logs.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")


def event_out(event: AuditEvent) -> AuditEventOut:
    """An event as the wire shows it."""
    return AuditEventOut(
        id=event.id,
        at=event.at,
        actor=event.actor,
        user_id=event.user_id,
        api_key_id=event.key_id,
        method=event.method,
        path=event.path,
        operation=event.operation,
        request_id=event.request_id,
        instance_id=event.instance_id,
    )
