"""Wire shapes of students (Domoscio surface)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)

from studentgroups.wire import DomoscioTimestamp, Id, Name, OptionalText

MAX_ATTRIBUTES = 100


class Sexe(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNDEFINED = "undefined"


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


AttributeKey = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(_clean_text)]
AttributeValue = (
    Annotated[str, StringConstraints(strict=True, max_length=255), AfterValidator(_clean_text)]
    | Annotated[StrictInt, Field(ge=-(2**53), le=2**53)]
    | Annotated[StrictFloat, Field(allow_inf_nan=False)]
)
Attributes = Annotated[
    dict[AttributeKey, AttributeValue],
    Field(
        max_length=MAX_ATTRIBUTES,
        description="Free attributes: strings (≤ 255 chars) and finite numbers, at most "
        f"{MAX_ATTRIBUTES} keys of ≤ 64 chars. Used to balance groups.",
        examples=[{"score": 0.72, "major": "finance"}],
    ),
]
Uid = Annotated[Name, Field(description="The platform's own id for the student; unique in the instance.")]


class _StudentFields(BaseModel):
    name: OptionalText | None = Field(default=None, description="Full name (≤ 255 chars).")
    sexe: Sexe | None = Field(default=None, description="male, female or undefined.")
    date_of_birth: date | None = Field(default=None, description="`YYYY-MM-DD`.")
    country_of_residence: OptionalText | None = Field(default=None, description="Country of residence.")
    city_of_residence: OptionalText | None = Field(default=None, description="City of residence.")
    student_group_id: Id | None = Field(
        default=None,
        description="The student's root student group (a group with no module and no parent).",
    )


class StudentCreate(_StudentFields):
    """POST /students."""

    uid: Uid = Field(examples=["learner-00042"])
    attributes: Attributes = Field(default_factory=dict)


class StudentUpdate(_StudentFields):
    """PUT /students/{id}: only the fields sent change; `student_group_id: null` leaves the group."""

    uid: Uid | None = Field(default=None, description="A new platform id (unique in the instance).")
    attributes: Attributes | None = Field(default=None, description="Replaces the attributes as a whole.")

    @field_validator("uid", "attributes")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class StudentOut(BaseModel):
    """A student."""

    id: int = Field(description="The student's id.")
    uid: str = Field(description="The platform's own id for the student.")
    uuid: UUID = Field(description="The student's user id on the LumiNUS surface (`userId`).")
    student_group_id: int | None = Field(description="The student's root student group, if any.")
    name: str | None = Field(description="Full name.")
    sexe: Sexe | None = Field(description="male, female or undefined.")
    date_of_birth: date | None = Field(description="`YYYY-MM-DD`.")
    country_of_residence: str | None = Field(description="Country of residence.")
    city_of_residence: str | None = Field(description="City of residence.")
    attributes: dict[str, str | int | float] = Field(description="Free attributes (strings and numbers).")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    updated_at: DomoscioTimestamp = Field(description="When it last changed (UTC).")
