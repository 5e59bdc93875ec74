"""The service's errors: one small hierarchy that every layer raises, and no layer's rendering.

A service raises `NotFound`, `BadRequest` with the `FieldError`s that say which field broke which
rule, and so on; each surface renders them in its own shape (`problems`: problem details, or a
LumiNUS string). Nothing here knows HTTP beyond the status code each error stands for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One bad input: where it is, which rule it breaks, and in words."""

    field: str
    rule: str
    message: str
    location: str = "body"

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "in": self.location,
            "rule": self.rule,
            "message": self.message,
        }


class AppError(Exception):
    """Base of every error the service means to answer with."""

    status = 500
    title = "Internal Server Error"
    slug = "internal"

    def __init__(self, detail: str, *, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)


class BadRequest(AppError):
    status = 400
    title = "Bad Request"
    slug = "bad-request"


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(AppError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(AppError):
    status = 404
    title = "Not Found"
    slug = "not-found"


class Conflict(AppError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class LengthRequired(AppError):
    status = 411
    title = "Length Required"
    slug = "length-required"


class UnsupportedMediaType(AppError):
    status = 415
    title = "Unsupported Media Type"
    slug = "unsupported-media-type"


DATABASE_RETRY_AFTER_SECONDS = 5
"""What a 503 tells a client to wait before retrying: about what a PostgreSQL restart takes."""
DATABASE_UNAVAILABLE = (
    "The database is unavailable; retry in a few seconds. "
    "A change sent with this request was applied whole or not at all."
)
DATABASE_BUSY = "The service is busy: no database connection came free in time; nothing was saved."


class ServiceUnavailable(AppError):
    """The database cannot serve the request now; the answer says when to retry (`Retry-After`)."""

    status = 503
    title = "Service Unavailable"
    slug = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = DATABASE_RETRY_AFTER_SECONDS) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def _location_and_field(loc: Sequence[int | str]) -> tuple[str, str]:
    if not loc:
        return "body", ""
    location = str(loc[0])
    rest = [str(p) for p in loc[1:]]
    return location, ".".join(rest)


def field_errors_from_validation(errors: Sequence[Any]) -> list[FieldError]:
    """Pydantic's validation errors, as the field errors our clients read."""
    out = []
    for err in errors:
        if err.get("type") == "json_invalid":
            loc = err.get("loc", ())
            position = loc[1] if len(loc) > 1 else "?"
            reason = (err.get("ctx") or {}).get("error", "invalid JSON")
            out.append(
                FieldError(field="body", rule="json_invalid", message=f"{reason} at character {position}")
            )
            continue
        location, field = _location_and_field(err.get("loc", ()))
        rule = err.get("type", "invalid")
        message = err.get("msg", "")
        if rule == "extra_forbidden":  # pydantic's name for a field the call does not take
            rule, message = "unknown_field", "unknown field: this call does not take it"
        out.append(FieldError(field=field or location, rule=rule, message=message, location=location))
    return out
