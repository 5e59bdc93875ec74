"""How a request enters a route: integer ids in paths, and JSON bodies validated strictly, as
JSON, before FastAPI reads them (`JsonBodyRoute`, the `route_class` of every router)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, get_args

from fastapi import Path, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from studentgroups.db import MAX_ID
from studentgroups.problems import is_json_media_type
from studentgroups.wire import JsonBody


def id_path(what: str) -> Any:
    """A path parameter holding an integer id (1 to 2**63-1)."""
    return Path(ge=1, le=MAX_ID, description=f"The {what}'s id.")


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
    return not content_type or is_json_media_type(content_type)


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
                    # body, which it finds in Python mode (`problems.json_body_errors`).
                    request.state.json_body_errors = [{**e, "loc": ("body", *e["loc"])} for e in errors]
                return await handler(request)
            return await handler(_ValidatedRequest(request, body, parsed))

        return validated
