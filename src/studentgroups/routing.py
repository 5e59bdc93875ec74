"""How a request enters a route: integer ids in paths, and JSON bodies validated strictly, as
JSON, before FastAPI reads them (`JsonBodyRoute`, the `route_class` of every router)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, get_args, get_origin

from fastapi import Path, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from studentgroups.db import MAX_ID
from studentgroups.problems import is_json_media_type
from studentgroups.wire import JsonBody


def id_path(what: str) -> Any:
    """A path parameter holding an integer id (1 to 2**63-1)."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id.")


class _ValidatedRequest(Request):
    """The request, its body already read and validated: FastAPI's `json()` gets the model."""

    def __init__(self, request: Request, body: bytes, parsed: BaseModel | list[BaseModel]) -> None:
        super().__init__(request.scope, request.receive, request._send)
        self._body = body
        self._parsed = parsed

    async def json(self) -> Any:
        return self._parsed


BodyValidator = Callable[[bytes], Any]


def _json_body_validator(route: APIRoute) -> BodyValidator | None:
    """How to validate the route's body as JSON, if it is a `JsonBody` (an optional body:
    `Model | None`; a batch: `Model | list[Model]`, the list taken when the body is an array)."""
    field = route.body_field
    annotation = getattr(getattr(field, "field_info", None), "annotation", None)
    model: type[JsonBody] | None = None
    batch: TypeAdapter[Any] | None = None
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, JsonBody):
            model = candidate
        elif get_origin(_unannotated(candidate)) is list:
            (item,) = get_args(_unannotated(candidate))
            if isinstance(item, type) and issubclass(item, JsonBody):
                batch = TypeAdapter(candidate, config=None)
    if model is None:
        return None
    one = model

    def validate(body: bytes) -> Any:
        if batch is not None and body.lstrip()[:1] == b"[":
            return batch.validate_json(body, strict=True)
        return one.model_validate_json(body)

    return validate


def _unannotated(annotation: Any) -> Any:
    """`list[X]` for `Annotated[list[X], ...]`; anything else as it is."""
    return get_args(annotation)[0] if get_origin(annotation) is Annotated else annotation


def _reads_json(request: Request) -> bool:
    """Whether FastAPI would read this body as JSON (a missing Content-Type is JSON here)."""
    content_type = request.headers.get("content-type")
    return not content_type or is_json_media_type(content_type)


class JsonBodyRoute(APIRoute):
    """A route whose `JsonBody` is validated as JSON, strictly, before FastAPI sees it.

    Bad JSON, an empty body and a body of another media type go on to FastAPI, which answers
    them as it always has (400, 411, 415).
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        validate = _json_body_validator(self)
        if validate is None:
            return handler

        async def validated(request: Request) -> Response:
            body = await request.body()
            if not body.strip() or not _reads_json(request):
                return await handler(request)
            try:
                parsed = validate(body)
            except ValidationError as error:
                errors = error.errors()
                if not any(e["type"] == "json_invalid" for e in errors):  # FastAPI places bad JSON
                    # Answered once FastAPI has checked the key (a caller without one learns
                    # nothing of what the call takes), in place of FastAPI's own errors for the
                    # body, which it finds in Python mode (`problems.json_body_errors`).
                    request.state.json_body_errors = [{**e, "loc": ("body", *e["loc"])} for e in errors]
                return await handler(request)
            return await handler(_ValidatedRequest(request, body, parsed))

        return validated
