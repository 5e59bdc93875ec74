"""Wire shapes of API keys (management surface, admins only)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from studentgroups.permissions import KeyKind
from studentgroups.tables.instances import ApiKey, Role, User
from studentgroups.wire import DomoscioTimestamp, JsonBody, Name, OptionalText


class KeyCreate(JsonBody):
    """POST /api_keys."""

    role: Role = Field(
        description="admin: everything; staff: reads and writes; read-only: reads only. A learner's key "
        "(with `student_uid`) is read-only or staff, within what a learner may do; never admin."
    )
    user: Name | None = Field(
        default=None,
        description="The user the key acts as (created if new): `admin` by default. For a learner's key, "
        "by default the learner's own user; a user that acts for the platform or another student is a "
        "409. Names starting `cli:`, `system:` or `learner:` are the service's own.",
    )
    name: OptionalText = Field(default="", description="A label, e.g. where the key is used.")
    student_uid: Name | None = Field(
        default=None,
        description="A learner's key: it acts as this student (their `uid`) and nothing more: their own "
        "record and results, the groups open to them, their self-enrolment.",
    )


class KeyOut(BaseModel):
    """An API key, without its secret."""

    id: int = Field(description="The key's id.")
    name: str = Field(description="Its label.")
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    role: Role = Field(description="What the key may do.")
    user: str = Field(description="The user the key acts as.")
    kind: KeyKind = Field(description="`learner` for a learner's key; else the platform key's role.")
    student_id: int | None = Field(description="The student a learner's key acts for; else null.")
    student_uid: str | None = Field(description="That student's `uid`; else null.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    revoked_at: DomoscioTimestamp | None = Field(description="When it was revoked (UTC); null while valid.")


class KeyCreated(KeyOut):
    """A new API key, with its secret: shown this once, never again."""

    api_key: str = Field(description="The secret key: shown in this answer only, never again.")


def key_out(key: ApiKey, user: User, student_uid: str | None) -> KeyOut:
    """A key as the wire shows it (`student_uid`: of the student a learner's key acts for)."""
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=Role(key.role),
        user=user.name,
        kind=KeyKind.LEARNER if user.student_id is not None else KeyKind(key.role),
        student_id=user.student_id,
        student_uid=student_uid,
        instance_id=key.instance_id,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )
