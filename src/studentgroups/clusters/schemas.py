"""Wire shapes of student clusters (Domoscio surface)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studentgroups.wire import Changes, DomoscioTimestamp, JsonBody, Name


class ClusterCreate(JsonBody):
    """POST /student_clusters."""

    name: Name = Field(examples=["Financial services academy"])


class ClusterUpdate(Changes):
    """PUT /student_clusters/{id}: only the fields sent change."""

    name: Name | None = Field(default=None, description="A new name (≤ 255 characters).")

    @field_validator("name")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name may not be null")
        return value


class ClusterOut(BaseModel):
    """A student cluster."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The cluster's id.")
    name: str = Field(description="The cluster's name.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    updated_at: DomoscioTimestamp = Field(description="When it last changed (UTC).")
