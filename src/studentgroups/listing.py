"""Long lists, fast: rows shaped by the database, encoded without a Python object per row.

A Domoscio list of 10,000 groups must answer in well under 150 ms. Building and validating a
pydantic object per row costs more than that on a small machine, so list endpoints select exactly
the wire's columns, with timestamps already formatted by the database (`wire_timestamp`), and
encode the rows with orjson. The single-object endpoints keep their schemas; tests compare every
list's items with the single-object answers, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

MAX_LIMIT = 100_000
"""The longest page a client may ask for."""


@dataclass(frozen=True, slots=True)
class Page:
    """The slice of a list the client asked for; `limit=None` means the whole list."""

    limit: int | None
    offset: int


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
