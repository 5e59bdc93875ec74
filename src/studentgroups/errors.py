"""The service's errors: one small hierarchy, rendered once as RFC 9457 problem details."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from psycopg import InterfaceError as DriverInterfaceError
from psycopg import OperationalError as DriverOperationalError
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("studentgroups.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


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


class ProblemFieldError(BaseModel):
    """A bad field in a problem document."""

    field: str = Field(description="Dotted path of the field, e.g. `name` or `attributes.score`.")
    in_: str = Field(alias="in", description="Where the field was: body, query, path or header.")
    rule: str = Field(description="The rule it breaks, e.g. `missing`, `string_too_long`.")
    message: str = Field(description="The problem in words.")


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (`application/problem+json`)."""

    type: str = Field(
        description="A URI naming the kind of problem, e.g. `urn:studentgroups:problem:validation`."
    )
    title: str = Field(description="The HTTP status in words.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, in a sentence.")
    errors: list[ProblemFieldError] = Field(
        default_factory=list, description="Each bad field, when the problem is bad input."
    )


def problem_type(slug: str) -> str:
    """The URI of a kind of problem."""
    return f"urn:studentgroups:problem:{slug}"


LUMINUS_PREFIX = "/user/"


def _luminus_message(detail: str, errors: Sequence[FieldError]) -> str:
    """One sentence: what is wrong, then each bad field with its reason."""
    reasons = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return f"{detail} {reasons}" if reasons else detail


def error_response(
    request: Request,
    status: int,
    title: str,
    slug: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error in the caller's surface: a JSON string on LumiNUS paths, problem details elsewhere."""
    if request.url.path.startswith(LUMINUS_PREFIX):
        body = json.dumps(_luminus_message(detail, errors), ensure_ascii=False).encode()
        return Response(body, status_code=status, media_type="application/json", headers=headers)
    return problem_response(status, title, slug, detail, errors, headers)


def problem_response(
    status: int,
    title: str,
    slug: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The one place a problem document is written."""
    body: dict[str, Any] = {
        "type": problem_type(slug),
        "title": title,
        "status": status,
        "detail": detail,
        "errors": [e.as_dict() for e in errors],
    }
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def is_json_media_type(content_type: str) -> bool:
    """True for application/json and the application/*+json family (json-patch+json among them)."""
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


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


_STATUS_TITLES = {
    400: ("Bad Request", "bad-request"),
    401: ("Unauthorized", "unauthorized"),
    403: ("Forbidden", "forbidden"),
    404: ("Not Found", "not-found"),
    405: ("Method Not Allowed", "method-not-allowed"),
    406: ("Not Acceptable", "not-acceptable"),
    409: ("Conflict", "conflict"),
    411: ("Length Required", "length-required"),
    413: ("Content Too Large", "content-too-large"),
    415: ("Unsupported Media Type", "unsupported-media-type"),
    429: ("Too Many Requests", "too-many-requests"),
    503: ("Service Unavailable", "unavailable"),
}


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    return error_response(request, exc.status, exc.title, exc.slug, exc.detail, exc.errors)


def json_body_errors(request: Request, errors: Sequence[Any]) -> Sequence[Any]:
    """The body's errors as found in JSON mode (`wire.JsonBodyRoute`), in place of FastAPI's."""
    found = getattr(request.state, "json_body_errors", None)
    if found is None:
        return errors
    return [*found, *(e for e in errors if tuple(e.get("loc", ()))[:1] != ("body",))]


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors_from_validation(json_body_errors(request, exc.errors()))
    # An empty or non-JSON body is what is wrong only when the body is (a body may be optional).
    if request.method in ("POST", "PUT", "PATCH") and any(e.location == "body" for e in errors):
        if not await request.body():
            return error_response(
                request,
                411,
                "Length Required",
                "length-required",
                f"{request.method} needs a JSON body; the request had none.",
            )
        content_type = request.headers.get("content-type", "")
        if content_type and not is_json_media_type(content_type):
            return error_response(
                request,
                415,
                "Unsupported Media Type",
                "unsupported-media-type",
                f"The body must be JSON (Content-Type: application/json), not {content_type}.",
                [
                    FieldError(
                        field="Content-Type",
                        rule="json_media_type",
                        message="must be application/json or another +json type",
                        location="header",
                    )
                ],
            )
    if any(e.rule == "json_invalid" for e in errors):
        return error_response(
            request, 400, "Bad Request", "malformed-json", "The body is not valid JSON.", errors
        )
    fields = ", ".join(sorted({e.field for e in errors}))
    return error_response(request, 400, "Bad Request", "validation", f"Invalid input: {fields}.", errors)


_UNPARSABLE_BODY = "There was an error parsing the body"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title, slug = _STATUS_TITLES.get(exc.status_code, ("Error", "error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such path."
    if exc.status_code == 400 and detail == _UNPARSABLE_BODY:  # FastAPI's words for bytes that aren't text
        return error_response(
            request,
            400,
            title,
            "malformed-json",
            "The body is not valid JSON.",
            [FieldError(field="body", rule="json_invalid", message="not JSON text in UTF-8")],
        )
    return error_response(request, exc.status_code, title, slug, detail, headers=exc.headers)


async def _integrity_error(request: Request, exc: Exception) -> Response:
    # Services check first; this answers the race in which another request got there in between.
    logger.info("integrity error answered as 409: %s", exc)
    return error_response(
        request,
        409,
        "Conflict",
        "conflict",
        "The change conflicts with data written at the same time; nothing was saved.",
    )


# SQLSTATE classes of a database that cannot serve us now, rather than of a wrong statement:
# connection exception, invalid authorization, insufficient resources, operator intervention
# (shutdown, restart, statement cancelled), system error.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "53", "57", "58"})
_SQLITE_BUSY = ("database is locked", "database table is locked", "disk i/o error", "unable to open database")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is down, unreachable or too busy, not that a statement is wrong.

    SQLAlchemy wraps the driver's errors: `connection_invalidated` when the connection broke
    under a statement, no `statement` when a new connection could not be made (refused, timed
    out, the server starting up). COPY through the driver (`bulk.insert_rows`) raises psycopg's
    own errors, where a driver error without a SQLSTATE is a lost connection. A driver error
    without a SQLSTATE under a statement (too many parameters, say) is a bug, not an outage.
    """
    if isinstance(exc, PoolTimeoutError | DriverInterfaceError):
        return True
    driver_error: BaseException | None = exc
    under_statement = False
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        under_statement = exc.statement is not None
        driver_error = exc.orig
    if isinstance(driver_error, DriverOperationalError):
        if driver_error.sqlstate is None:
            return not under_statement
        return driver_error.sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    if isinstance(driver_error, sqlite3.OperationalError):
        return str(driver_error).lower().startswith(_SQLITE_BUSY)
    return isinstance(driver_error, DriverInterfaceError)


def _unavailable_response(request: Request, exc: ServiceUnavailable) -> Response:
    headers = {"Retry-After": str(exc.retry_after)}
    return error_response(request, exc.status, exc.title, exc.slug, exc.detail, headers=headers)


async def _service_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceUnavailable)
    logger.warning("answered 503 on %s %s: %s", request.method, request.url.path, exc.detail)
    return _unavailable_response(request, exc)


def lost_to_a_concurrent_transaction(exc: BaseException) -> bool:
    """True when PostgreSQL rolled the transaction back for another's sake (SQLSTATE class 40:
    a deadlock, a serialization failure): nothing was saved, and the same request may succeed."""
    driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = getattr(driver_error, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("40")


async def _database_error(request: Request, exc: Exception) -> Response:
    """The database is unavailable: 503 with `Retry-After`. A transaction rolled back for a
    concurrent one's sake: 409. Any other database error is a bug: 500."""
    if lost_to_a_concurrent_transaction(exc):
        logger.info("transaction rolled back for a concurrent one, answered 409: %s", exc)
        return error_response(
            request,
            409,
            "Conflict",
            "conflict",
            "The change collided with another made at the same time; nothing was saved. Send it again.",
            headers={"Retry-After": "1"},
        )
    if not database_unavailable(exc):
        raise exc  # rendered by `_unexpected_error`, logged with its traceback
    first_line = next(iter(str(exc).splitlines()), "")
    method, path = request.method, request.url.path
    logger.warning("database unavailable on %s %s: %s: %s", method, path, type(exc).__name__, first_line)
    if isinstance(exc, PoolTimeoutError):
        return _unavailable_response(request, ServiceUnavailable(DATABASE_BUSY))
    return _unavailable_response(request, ServiceUnavailable(DATABASE_UNAVAILABLE))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    # The server closes this connection after the answer: say so, or a client reusing it is reset.
    return error_response(
        request,
        500,
        "Internal Server Error",
        "internal",
        "The server failed; nothing was saved.",
        headers={"Connection": "close"},
    )


def install_error_handlers(app: FastAPI) -> None:
    """Render every error the app can raise as problem details."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(ServiceUnavailable, _service_unavailable)
    for unavailable in (DBAPIError, PoolTimeoutError, DriverOperationalError, DriverInterfaceError):
        app.add_exception_handler(unavailable, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses, all as problem details."""
    described = {
        400: "Bad input: malformed JSON, a missing or invalid field (each named in `errors`).",
        401: "No API key, or an unknown or revoked one.",
        403: "The key's role may not do this.",
        404: "No such object in the caller's instance.",
        405: "Method not allowed on this path.",
        409: "The change conflicts with the current state (named in `detail`).",
        411: "POST or PUT without a body.",
        413: "The body is larger than the service accepts (`max_body_bytes`); nothing was read or saved.",
        415: "The body is not JSON (send Content-Type: application/json).",
        429: "Too many requests with this key; `Retry-After` says in how many seconds to try again.",
        503: "The database is unavailable or too busy; `Retry-After` says when to try again.",
    }
    return {
        s: {"model": Problem, "description": described[s], "content": {PROBLEM_MEDIA_TYPE: {}}}
        for s in statuses
    }
