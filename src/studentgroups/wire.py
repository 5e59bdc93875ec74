"""Field types shared by the wire schemas of both surfaces."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from studentgroups.db import MAX_ID

_NOT_IN_A_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""What a name (one line) never holds: the C0 and C1 control characters (tab, line feed, carriage
return, U+0085 next line among them), DEL, and the line and paragraph separators. PostgreSQL
cannot even store NUL."""
_NOT_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
"""What free text never holds: the control characters but tab, line feed and carriage return."""
_SHOWN = re.compile(r"[^\s\ufeff]")
"""A character that is not white space: a name holds at least one."""


def _single_line(value: str) -> str:
    # Compiled searches: a batch of 10,000 results checks 20,000 names.
    if _NOT_IN_A_NAME.search(value):
        raise PydanticCustomError(
            "control_character", "must not contain control characters, tabs or line breaks"
        )
    return value


def check_name(value: str) -> str:
    """A name: on one line, with no control character, and not blank."""
    _single_line(value)
    if not _SHOWN.search(value):
        raise PydanticCustomError("blank", "must not be blank (white space only)")
    return value


def _optional_text(value: str) -> str:
    # A profile's text (a name, a city) as a spreadsheet's cell may hold it: line breaks too.
    _free_text(value)
    if value and not _SHOWN.search(value):
        raise PydanticCustomError("blank", "must not be blank (white space only)")
    return value


def _free_text(value: str) -> str:
    if _NOT_IN_TEXT.search(value):
        raise PydanticCustomError(
            "control_character", "must not contain control characters (tab and line breaks aside)"
        )
    return value


# The documented form of a name: schema-driven fuzzing generates from it, blank strings and all.
_NAME_PATTERN = r"^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*\S[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$"


def domoscio_time(value: datetime) -> str:
    """A timestamp as the Domoscio document writes it: `2014-09-17 09:21:03`, UTC."""
    if value.tzinfo is not UTC and value.tzinfo is not None:
        value = value.astimezone(UTC)
    # isoformat, cut before any offset, is several times faster than strftime: long lists notice.
    return value.isoformat(" ", "seconds")[:19]


DomoscioTimestamp = Annotated[
    datetime,
    PlainSerializer(domoscio_time, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$",
            "description": "UTC, `YYYY-MM-DD HH:MM:SS`.",
            "examples": ["2014-09-17 09:21:03"],
        }
    ),
]

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255),
    AfterValidator(check_name),
    Field(
        description="1 to 255 characters on one line: not blank, no control characters (no tab, "
        "no line break).",
        json_schema_extra={"pattern": _NAME_PATTERN},
    ),
]
OptionalText = Annotated[str, StringConstraints(max_length=255), AfterValidator(_optional_text)]
"""At most 255 characters, empty (not given) or not blank; tabs and line breaks but no other
control characters (a profile's name or city, as a spreadsheet's cell may hold it)."""
FreeText = Annotated[
    str,
    StringConstraints(max_length=10_000),
    AfterValidator(_free_text),
    Field(description="At most 10,000 characters; tabs and line breaks but no other control characters."),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An integer id as a client may send it; out-of-range values are refused, not looked up."""


def aware_utc(value: datetime | None) -> datetime | None:
    """A window date in UTC; one without a time zone is refused, never guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("give a time zone (e.g. Z for UTC)")
    return value.astimezone(UTC)


# Request bodies ---------------------------------------------------------------------------------


class JsonBody(BaseModel):
    """A request body: JSON types taken as declared, and every field the call does not take refused.

    No string or number is read as a boolean, no string as a number; a string is a date, a time
    or a UUID only where the field is one. Validated as the JSON it was sent as, by the routes of
    `JsonBodyRoute` (FastAPI validates bodies as Python objects, in which mode a strict model would
    refuse a date sent as the string it must be).
    """

    model_config = ConfigDict(strict=True, extra="forbid")


Echoed = Annotated[
    Any,
    Field(
        default=None,
        exclude=True,
        json_schema_extra={"readOnly": True},
        description="Read-only: a client may send it back as it read it; it is ignored.",
    ),
]
"""A resource's own read-only field (its id, its times) on a body that changes it: ignored."""


class Changes(JsonBody):
    """A body that changes a resource (`PUT`): what it answered may be sent back whole, its own
    read-only fields (`id`, `instance_id`, `created_at`, `updated_at`) ignored."""

    id: Echoed
    instance_id: Echoed
    created_at: Echoed
    updated_at: Echoed
