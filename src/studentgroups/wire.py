"""Field types shared by the wire schemas of both surfaces."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path
from pydantic import AfterValidator, Field, PlainSerializer, StringConstraints, WithJsonSchema

from studentgroups.db import MAX_ID

_CONTROL_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control_characters(value: str) -> str:
    # NUL cannot be stored by PostgreSQL, and no name needs a control character (tab, newline and
    # carriage return aside). A compiled search: a batch of 10,000 results checks 20,000 names.
    if _CONTROL_CHARACTER.search(value):
        raise ValueError("must not contain control characters")
    return value


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
    AfterValidator(_no_control_characters),
    Field(description="At most 255 characters, no control characters."),
]
OptionalText = Annotated[str, StringConstraints(max_length=255), AfterValidator(_no_control_characters)]
FreeText = Annotated[
    str,
    StringConstraints(max_length=10_000),
    AfterValidator(_no_control_characters),
    Field(description="At most 10,000 characters; tabs and line breaks but no other control characters."),
]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
"""An integer id as a client may send it; out-of-range values are refused, not looked up."""


def id_path(what: str) -> Any:
    """A path parameter holding an integer id (1 to 2**63-1)."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id.")


def aware_utc(value: datetime | None) -> datetime | None:
    """A window date in UTC; one without a time zone is refused, never guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("give a time zone (e.g. Z for UTC)")
    return value.astimezone(UTC)
