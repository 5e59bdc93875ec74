"""Wire shapes of API keys (management surface, admins only)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from studentgroups.instances.models import ApiKey, Role, User
from studentgroups.wire import DomoscioTimestamp, Name, OptionalText


class KeyCreate(BaseModel):
    """POST /api_keys."""

    role: Role = Field(description="admin: everything; staff: reads and writes; read-only: reads only.")
    user: Name = Field(default="admin", description="The user the key acts as (created if new).")
    name: OptionalText = Field(default="", description="A label, e.g. where the key is used.")
    student_uid: Name | None = Field(
        default=None,
        description="Make the key's user this learner (a student's `uid`): the key then sees the groups "
        "open to their members (`groupAccess` 1 and 3). A user is at most one learner.",
    )


class KeyOut(BaseModel):
    """An API key, without its secret."""

    id: int = Field(description="The key's id.")
    name: str = Field(description="Its label.")
    prefix: str = Field(description="The first characters of the key, to recognise it.")
    role: Role = Field(description="What the key may do.")
    user: str = Field(description="The user the key acts as.")
    student_id: int | None = Field(description="The student the user is, for a learner's key; else null.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    revoked_at: DomoscioTimestamp | None = Field(description="When it was revoked (UTC); null while valid.")


class KeyCreated(KeyOut):
    """A new API key, with its secret: shown this once, never again."""

    api_key: str = Field(description="The secret key: shown in this answer only, never again.")


def key_out(key: ApiKey, user: User) -> KeyOut:
    """A key as the wire shows it."""
    return KeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        role=Role(key.role),
        user=user.name,
        student_id=user.student_id,
        instance_id=key.instance_id,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
    )
