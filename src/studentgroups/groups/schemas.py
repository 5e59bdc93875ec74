"""Wire shapes of student groups and their members (Domoscio surface)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studentgroups.wire import Changes, DomoscioTimestamp, Id, JsonBody, Name

MAX_MEMBERS_PER_CALL = 10_000


class GroupCreate(JsonBody):
    """POST /student_groups."""

    name: Name = Field(examples=["2nd year associates financial services"])
    student_cluster_id: Id | None = Field(
        default=None, description="The student cluster this group belongs to."
    )


class GroupUpdate(Changes):
    """PUT /student_groups/{id}: only the fields sent change; `student_cluster_id: null` detaches."""

    name: Name | None = Field(default=None, description="A new name (≤ 255 characters).")
    student_cluster_id: Id | None = Field(default=None, description="Another cluster, or null to detach.")

    @field_validator("name")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name may not be null")
        return value


class GroupOut(BaseModel):
    """A student group, as the Domoscio document shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The group's id.")
    name: str = Field(description="The group's name.")
    student_cluster_id: int | None = Field(description="The student cluster it belongs to, if any.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    updated_at: DomoscioTimestamp = Field(description="When it last changed (UTC).")


class MembersAdd(JsonBody):
    """POST /student_groups/{id}/students: students to put in the group."""

    student_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_MEMBERS_PER_CALL)] = Field(
        description=f"Ids of students of the instance, 1 to {MAX_MEMBERS_PER_CALL}. "
        "Students already in the group are left as they are."
    )
