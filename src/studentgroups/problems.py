"""Errors as HTTP answers: RFC 9457 problem details on the Domoscio and management surfaces, or
the shape a surface renders for itself (`app.state.error_surfaces`: LumiNUS's strings, in
`luminus/errors.py`); the handlers of every error the app can raise, and their OpenAPI
description. The errors themselves are in `errors`, the database's faults told apart in
`database_faults`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
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

from studentgroups.database_faults import database_unavailable, lost_to_a_concurrent_transaction
from studentgroups.errors import (
    DATABASE_BUSY,
    DATABASE_UNAVAILABLE,
    AppError,
    FieldError,
    ServiceUnavailable,
    field_errors_from_validation,
)

logger = logging.getLogger("studentgroups.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"


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


SurfaceErrors = Callable[[int, str, Sequence[FieldError], Mapping[str, str] | None, bool], Response]
"""How a surface other than problem details writes an error: status, detail, the bad fields,
headers, and whether the error is a service's (its names are snake_case, the services' own) or
the request's (the names are the client's, as sent)."""


def error_response(
    request: Request,
    status: int,
    title: str,
    slug: str,
    detail: str,
    errors: Sequence[FieldError] = (),
    headers: Mapping[str, str] | None = None,
    *,
    raised_by_service: bool = False,
) -> Response:
    """An error in the caller's surface: problem details, unless the path is a surface's that
    renders its own (`app.state.error_surfaces`, path prefix to renderer: LumiNUS's strings)."""
    app = request.scope.get("app")
    surfaces: Mapping[str, SurfaceErrors] = getattr(getattr(app, "state", None), "error_surfaces", {})
    for prefix, render in surfaces.items():
        if request.url.path.startswith(prefix):
            return render(status, detail, errors, headers, raised_by_service)
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
    return error_response(
        request, exc.status, exc.title, exc.slug, exc.detail, exc.errors, raised_by_service=True
    )


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


def _unavailable_response(request: Request, exc: ServiceUnavailable) -> Response:
    headers = {"Retry-After": str(exc.retry_after)}
    return error_response(request, exc.status, exc.title, exc.slug, exc.detail, headers=headers)


async def _service_unavailable(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceUnavailable)
    logger.warning("answered 503 on %s %s: %s", request.method, request.url.path, exc.detail)
    return _unavailable_response(request, exc)


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
    """Render every error the app can raise in the caller's surface (`error_response`)."""
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
