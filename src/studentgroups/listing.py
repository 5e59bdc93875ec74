"""Long lists, fast: rows shaped by the database, encoded without a Python object per row.

A Domoscio list of 10,000 groups must answer in well under 150 ms. Building and validating a
pydantic object per row costs more than that on a small machine, so list endpoints select exactly
the wire's columns, with timestamps already formatted by the database (`wire_timestamp`), and
encode the rows with orjson. The single-object endpoints keep their schemas; tests compare every
list's items with the single-object answers, so the two cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from fastapi import Response
from sqlalchemy import Row
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String


class wire_timestamp(FunctionElement[str]):  # noqa: N801 - a SQL function reads as one
    """A stored UTC timestamp as the Domoscio wire writes it: `YYYY-MM-DD HH:MM:SS`."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> None:
        super().__init__(column)


@compiles(wire_timestamp, "postgresql")
def _pg_wire_timestamp(element: wire_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24:MI:SS')"


@compiles(wire_timestamp, "sqlite")
def _sqlite_wire_timestamp(element: wire_timestamp, compiler: SQLCompiler, **kw: Any) -> str:
    return f"strftime('%Y-%m-%d %H:%M:%S', {compiler.process(element.clauses, **kw)})"


class uuid_text(FunctionElement[str]):  # noqa: N801 - a SQL function reads as one
    """A stored UUID in its canonical text form (`8-4-4-4-12`, lower case), made by the database."""

    type = String()
    inherit_cache = True

    def __init__(self, column: ColumnElement[Any] | InstrumentedAttribute[Any]) -> None:
        super().__init__(column)


@compiles(uuid_text, "postgresql")
def _pg_uuid_text(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


@compiles(uuid_text, "sqlite")
def _sqlite_uuid_text(element: uuid_text, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps a UUID as the 32 lower-case hex characters of `uuid.hex`.
    col = compiler.process(element.clauses, **kw)
    parts = [(1, 8), (9, 4), (13, 4), (17, 4), (21, 12)]
    return " || '-' || ".join(f"substr({col}, {start}, {length})" for start, length in parts)


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
