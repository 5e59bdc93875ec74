"""Wire shapes of student clusters (Domoscio surface)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from studentgroups.wire import DomoscioTimestamp, Name


class ClusterCreate(BaseModel):
    """POST /student_clusters."""

    name: Name = Field(examples=["Financial services academy"])


class ClusterUpdate(BaseModel):
    """PUT /student_clusters/{id}: only the fields sent change."""

    name: Name | None = None

    @field_validator("name")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("name may not be null")
        return value


class ClusterOut(BaseModel):
    """A student cluster."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    instance_id: int
    created_at: DomoscioTimestamp
    updated_at: DomoscioTimestamp
