"""Wire shape of a student's export: everything held about them, as one document."""

from __future__ import annotations

from pydantic import BaseModel, Field

from studentgroups.audit.schemas import AuditEventOut
from studentgroups.results.schemas import ResultOut
from studentgroups.students.schemas import StudentOut
from studentgroups.tables.group_types import GroupType
from studentgroups.tables.instances import Role
from studentgroups.wire import DomoscioTimestamp


class ExportedMembership(BaseModel):
    """A group the student is in."""

    group_id: int = Field(description="The group's id.")
    group_uuid: str = Field(description="Its id on the LumiNUS surface.")
    name: str = Field(description="Its name.")
    group_type: GroupType = Field(description="Its type.")
    module_id: int | None = Field(description="Its module, if any.")
    parent_group_id: int | None = Field(description="Its parent group, if any.")
    since: DomoscioTimestamp = Field(description="Since when the student is in it (UTC).")


class ExportedQueuePlace(BaseModel):
    """A place of the student's in a group's waiting list."""

    group_id: int = Field(description="The group.")
    name: str = Field(description="Its name.")
    module_id: int | None = Field(description="Its module.")
    position: int = Field(description="Where the student stands (1: next).")
    since: DomoscioTimestamp = Field(description="Since when (UTC).")


class ExportedKey(BaseModel):
    """A learner's key that acts for the student (never its secret)."""

    id: int = Field(description="The key's id.")
    prefix: str = Field(description="Its first characters.")
    role: Role = Field(description="Its role.")
    user: str = Field(description="Its user.")
    created_at: DomoscioTimestamp = Field(description="When it was made (UTC).")
    revoked_at: DomoscioTimestamp | None = Field(description="When it was revoked (UTC), if it was.")


class ExportedFormation(BaseModel):
    """A saved formation whose history names the student."""

    formation_id: int = Field(description="The formation.")
    module_id: int | None = Field(description="Its module, if any.")
    parent_group_id: int | None = Field(description="The parent group it formed under, if any.")
    strategy: str = Field(description="random or balanced.")
    created_at: DomoscioTimestamp = Field(description="When it was saved (UTC).")
    reverted_at: DomoscioTimestamp | None = Field(description="When it was undone (UTC), if it was.")
    groups_before: list[int] = Field(description="The student's groups under the parent before it.")
    groups_after: list[int] = Field(description="The student's groups under the parent after it.")
    named_in_request: bool = Field(
        description="Whether its request constrained the student (keep together…)."
    )


class StudentExport(BaseModel):
    """Everything held about one student (a data-subject access request, GDPR art. 15; FERPA)."""

    exported_at: DomoscioTimestamp = Field(description="When this export was made (UTC).")
    student: StudentOut = Field(description="The student's record, civil profile and attributes.")
    memberships: list[ExportedMembership] = Field(description="Every group they are in.")
    results: list[ResultOut] = Field(description="Every result of theirs.")
    waiting_lists: list[ExportedQueuePlace] = Field(description="Their places in waiting lists.")
    keys: list[ExportedKey] = Field(description="Their learner's keys.")
    formations: list[ExportedFormation] = Field(description="The formations whose history names them.")
    audit_events: list[AuditEventOut] = Field(description="The audit events that name them, oldest first.")
