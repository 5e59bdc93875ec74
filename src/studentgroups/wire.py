"""Field types shared by the wire schemas of both surfaces."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from fastapi import Path, Request, Response
from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
)

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


class _ValidatedRequest(Request):
    """The request, its body already read and validated: FastAPI's `json()` gets the model."""

    def __init__(self, request: Request, body: bytes, parsed: BaseModel) -> None:
        super().__init__(request.scope, request.receive, request._send)
        self._body = body
        self._parsed = parsed

    async def json(self) -> Any:
        return self._parsed


def _json_body_model(route: APIRoute) -> type[JsonBody] | None:
    """The `JsonBody` a route's body is (an optional body: `Model | None`), if it is one."""
    field = route.body_field
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, JsonBody):
            return candidate
    return None


def _reads_json(request: Request) -> bool:
    """Whether FastAPI would read this body as JSON (a missing Content-Type is JSON here)."""
    content_type = request.headers.get("content-type")
    if not content_type:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind.startswith("application/") and (kind.endswith("/json") or kind.endswith("+json"))


class JsonBodyRoute(APIRoute):
    """A route whose `JsonBody` is validated as JSON, strictly, before FastAPI sees it.

    Bad JSON, an empty body and a body of another media type go on to FastAPI, which answers
    them as it always has (400, 411, 415).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        model = _json_body_model(self)
        if model is None:
            return handler

        async def validated(request: Request) -> Response:
            body = await request.body()
            if not body.strip() or not _reads_json(request):
                return await handler(request)
            try:
                parsed = model.model_validate_json(body)
            except ValidationError as error:
                errors = error.errors()
                if not any(e["type"] == "json_invalid" for e in errors):  # FastAPI places bad JSON
                    # Answered once FastAPI has checked the key (a caller without one learns
                    # nothing of what the call takes), in place of FastAPI's own errors for the
                    # body, which it finds in Python mode (`errors.json_body_errors`).
                    request.state.json_body_errors = [{**e, "loc": ("body", *e["loc"])} for e in errors]
                return await handler(request)
            return await handler(_ValidatedRequest(request, body, parsed))

        return validated
