"""JSON answers encoded by orjson: lists of rows the database shaped (`listing`), and big
answers already made of plain dicts and lists."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Response
from sqlalchemy import Row


def json_rows(rows: Sequence[Row[Any]]) -> Response:
    """A JSON array of objects, one per row, keyed by the rows' column labels."""
    if not rows:
        return Response(b"[]", media_type="application/json")
    keys = rows[0]._fields
    body = orjson.dumps([dict(zip(keys, row, strict=True)) for row in rows])
    return Response(body, media_type="application/json")


def json_response(body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer encoded by orjson, for big answers already made of plain dicts and lists
    (the route's `response_model` still documents it)."""
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)
