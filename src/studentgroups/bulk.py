"""Writing many rows at once, through the driver: binary COPY on PostgreSQL, one prepared INSERT
run for every row on SQLite. Both join the session's transaction, and their integrity errors are
SQLAlchemy's, so every handler answers them alike (409) and a failure rolls everything back.

Building a dict per row for SQLAlchemy's executemany costs more than the database's own work for
100,000 rows (docs/benchmarks.md); these writers take plain tuples.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb, set_json_dumps
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from studentgroups.db import mark_written


def _sqlite_timestamps() -> Callable[[Any], Any]:
    """Datetimes as SQLAlchemy stores them on SQLite (naive UTC text), each made once per batch."""
    made: dict[datetime, str] = {}

    def convert(value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        text = made.get(value)
        if text is None:
            text = made[value] = value.strftime("%Y-%m-%d %H:%M:%S.%f")
        return text

    return convert


def insert_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    types: Sequence[str],
    rows: Iterable[tuple[Any, ...]],
    constants: Sequence[tuple[str, str, Any]] = (),
) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table`.

    `types` are PostgreSQL's names of the columns' types (`int8`, `varchar`, `float8`, `bool`,
    `timestamp`, `date`, `uuid`, `jsonb`): binary COPY needs them; on SQLite they say which values
    to convert to what SQLAlchemy stores there (text for timestamps, dates and JSON, 32 hex
    digits for a uuid). `constants`, (column, type, value) the same for every row, are converted
    once and added to each row. Timestamps are naive UTC; a `jsonb` value is any JSON-able value.
    """
    connection = session.connection()  # begins the session's transaction: the rows join it
    mark_written(session)  # COPY and executemany bypass the Session's own bookkeeping
    driver = connection.connection.driver_connection
    names = ", ".join([*columns, *(c for c, _, _ in constants)])
    all_types = [*types, *(t for _, t, _ in constants)]
    if connection.dialect.name == "postgresql":
        assert isinstance(driver, psycopg.Connection)
        fixed = tuple(v for _, _, v in constants)
        json_columns = [i for i, t in enumerate(types) if t == "jsonb"]
        if json_columns:
            rows = (_converted(row, [(i, Jsonb) for i in json_columns]) for row in rows)
        cursor = driver.cursor()
        set_json_dumps(orjson.dumps, context=cursor)  # a tenth of json.dumps's time a row
        try:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(all_types)
                for row in rows:
                    copy.write_row(row + fixed)
        except psycopg.errors.IntegrityError as error:
            raise IntegrityError(f"COPY {table}", None, error) from error
        return
    assert isinstance(driver, sqlite3.Connection)
    # sqlite3 stores bools as 0/1 itself; the others need SQLAlchemy's form of them.
    converters = [(i, _sqlite_converter(t)) for i, t in enumerate(types) if t in _SQLITE_CONVERTED]
    if converters:
        rows = (_converted(row, converters) for row in rows)
    stamp = _sqlite_timestamps()
    fixed = tuple(stamp(v) if t == "timestamp" else v for _, t, v in constants)
    if fixed:
        rows = (row + fixed for row in rows)
    marks = ", ".join("?" * len(all_types))
    try:
        driver.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608 - our names
    except sqlite3.IntegrityError as error:
        raise IntegrityError(f"INSERT INTO {table}", None, error) from error


_SQLITE_CONVERTED = ("timestamp", "date", "uuid", "jsonb")


def _sqlite_converter(kind: str) -> Callable[[Any], Any]:
    """A column's values as SQLAlchemy stores them on SQLite (None stays NULL)."""
    if kind == "timestamp":
        return _sqlite_timestamps()
    if kind == "date":
        return lambda value: value.isoformat() if isinstance(value, date) else value
    if kind == "uuid":
        return lambda value: value.hex if isinstance(value, uuid.UUID) else value
    return lambda value: None if value is None else orjson.dumps(value).decode()


def _converted(row: tuple[Any, ...], converters: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    values = list(row)
    for i, convert in converters:
        values[i] = convert(values[i])
    return tuple(values)
