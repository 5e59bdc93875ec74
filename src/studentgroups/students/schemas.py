"""Wire shapes of students (Domoscio surface)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

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
    name: OptionalText | None = None
    sexe: Sexe | None = None
    date_of_birth: date | None = Field(default=None, description="`YYYY-MM-DD`.")
    country_of_residence: OptionalText | None = None
    city_of_residence: OptionalText | None = None
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

    uid: Uid | None = None
    attributes: Attributes | None = None

    @field_validator("uid", "attributes")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class StudentOut(BaseModel):
    """A student."""

    id: int
    uid: str
    student_group_id: int | None
    name: str | None
    sexe: Sexe | None
    date_of_birth: date | None
    country_of_residence: str | None
    city_of_residence: str | None
    attributes: dict[str, str | int | float]
    instance_id: int
    created_at: DomoscioTimestamp
    updated_at: DomoscioTimestamp
