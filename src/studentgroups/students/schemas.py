"""Wire shapes of students (Domoscio surface)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
    field_validator,
)

from studentgroups.auth import Principal
from studentgroups.permissions import CIVIL_PROFILE, StudentFields, student_fields
from studentgroups.tables.students import Student
from studentgroups.wire import Changes, DomoscioTimestamp, Echoed, Id, JsonBody, Name, OptionalText

MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY = 64
MAX_ATTRIBUTE_TEXT = 255


class Sexe(StrEnum):
    MALE = "male"
    FEMALE = "female"
    UNDEFINED = "undefined"


def _clean_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


AttributeKey = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ATTRIBUTE_KEY), AfterValidator(_clean_text)
]
AttributeText = Annotated[
    str, StringConstraints(strict=True, max_length=MAX_ATTRIBUTE_TEXT), AfterValidator(_clean_text)
]
AttributeValue = (
    AttributeText
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


class _StudentFields(JsonBody):
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


MAX_STUDENTS_PER_CALL = 10_000

StudentBatch = Annotated[
    list[StudentCreate],
    Field(
        min_length=1,
        max_length=MAX_STUDENTS_PER_CALL,
        description=f"Our extension: 1 to {MAX_STUDENTS_PER_CALL:,} students at once, all created or "
        "none; a problem names the student by its place in the array (`3.uid`).",
    ),
]
"""POST /students with an array."""


class StudentUpdate(_StudentFields, Changes):
    """PUT /students/{id}: only the fields sent change; `student_group_id: null` leaves the group."""

    uuid: Echoed

    uid: Uid | None = Field(default=None, description="A new platform id (unique in the instance).")
    attributes: Attributes | None = Field(default=None, description="Replaces the attributes as a whole.")

    @field_validator("uid", "attributes")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class StudentOut(BaseModel):
    """A student, as far as the caller may read it (`permissions.StudentFields`).

    The civil profile (`name`, `sexe`, `date_of_birth`, `country_of_residence`,
    `city_of_residence`) is null to read-only keys; a learner reads all of its own record, and of
    a fellow member of a group open to it only `id`, `uuid` and `name`.
    """

    id: int = Field(description="The student's id.")
    uid: str | None = Field(
        description="The platform's own id for the student (null to a learner reading a fellow member)."
    )
    uuid: UUID = Field(description="The student's user id on the LumiNUS surface (`userId`).")
    student_group_id: int | None = Field(description="The student's root student group, if any.")
    name: str | None = Field(description="Full name (civil profile).")
    sexe: Sexe | None = Field(description="male, female or undefined (civil profile).")
    date_of_birth: date | None = Field(description="`YYYY-MM-DD` (civil profile).")
    country_of_residence: str | None = Field(description="Country of residence (civil profile).")
    city_of_residence: str | None = Field(description="City of residence (civil profile).")
    attributes: dict[str, str | int | float] = Field(
        description="Free attributes (strings and numbers); empty to a learner reading a fellow member."
    )
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    updated_at: DomoscioTimestamp = Field(description="When it last changed (UTC).")


HIDDEN: dict[StudentFields, dict[str, object]] = {
    StudentFields.FULL: {},
    StudentFields.NO_PROFILE: dict.fromkeys(CIVIL_PROFILE),
    StudentFields.MEMBER: {
        **dict.fromkeys(("uid", "student_group_id", *CIVIL_PROFILE)),
        "name": ...,  # a fellow member's name is what a group shows: kept
        "attributes": {},
    },
}
"""What each view puts in place of the fields it hides (`...`: the field is kept)."""


def shown(student: dict[str, Any], fields: StudentFields) -> dict[str, Any]:
    """A student's wire fields with those the caller may not read nulled (attributes emptied)."""
    hidden = HIDDEN[fields]
    if not hidden:
        return student
    return {**student, **{k: v for k, v in hidden.items() if v is not ...}}


def student_out(view: tuple[Student, int | None], fields: StudentFields = StudentFields.FULL) -> StudentOut:
    """A student and their root group, as the wire shows them to a caller who sees `fields`."""
    student, root_group_id = view
    return StudentOut(
        **shown(
            {
                "id": student.id,
                "uid": student.uid,
                "uuid": student.uuid,
                "student_group_id": root_group_id,
                "name": student.name,
                "sexe": Sexe(student.sexe) if student.sexe else None,
                "date_of_birth": student.date_of_birth,
                "country_of_residence": student.country_of_residence,
                "city_of_residence": student.city_of_residence,
                "attributes": student.attributes,
                "instance_id": student.instance_id,
                "created_at": student.created_at,
                "updated_at": student.updated_at,
            },
            fields,
        )
    )


def wire_row(row: dict[str, Any], fields: StudentFields) -> dict[str, Any]:
    """A row of `students.service.WIRE_COLUMNS` as the list answers it: the same fields as
    `StudentOut`, already in their wire form, `attributes` still the JSON text the database
    holds (written as it is)."""
    row["attributes"] = orjson.Fragment(row["attributes"] or "{}")
    return shown(row, fields)


def students_out(views: Sequence[tuple[Student, int | None]], principal: Principal) -> list[StudentOut]:
    """Several students, each as far as the caller may read it."""
    return [student_out(view, student_fields(principal, view[0].id)) for view in views]
