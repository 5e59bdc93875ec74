"""The LumiNUS surface's shared request parts: its path and query parameters, and its error
responses (JSON strings) as the OpenAPI document describes them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Path, Query

from studentgroups.class_groups import search
from studentgroups.errors import BadRequest
from studentgroups.tables.group_types import GroupType

ResourceId = Annotated[uuid.UUID, Path(alias="ResourceID", description="Module ID.")]


ParentGroupQuery = Annotated[
    str | None,
    Query(
        alias="parentGroupID",
        description="A class group: its sub-groups are the level; empty or absent: the module's root.",
    ),
]


STRING_ERROR = {"content": {"application/json": {"schema": {"type": "string"}}}}


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad Request: what is wrong, as a JSON string.", **STRING_ERROR},
    401: {"description": "No API key, or an unknown or revoked one.", **STRING_ERROR},
    403: {"description": "Login user not authorized to perform this action.", **STRING_ERROR},
    404: {"description": "No such module or group in the caller's instance.", **STRING_ERROR},
    409: {"description": "Another change got there first; nothing was saved.", **STRING_ERROR},
    411: {"description": "POST or PUT without a body.", **STRING_ERROR},
    415: {"description": "The body is not JSON.", **STRING_ERROR},
    500: {"description": "Server Error.", **STRING_ERROR},
}


GROUP_TYPE_FILTER = frozenset([search.IN_NO_GROUP, *(int(t) for t in GroupType)])


def parent_uuid_of(raw: str | None) -> uuid.UUID | None:
    if not raw:
        return None  # "If empty, means it is the root level."
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadRequest(f"parentGroupID: {raw!r} is not a group id (a UUID).") from None
