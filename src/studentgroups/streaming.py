"""Whole lists streamed as they are read: a JSON array sent a chunk of rows at a time.

`GET /students` of a university (100,000 students) is 40 MB of rows as Python objects and
30 MB of JSON; read and encoded 2,000 rows at a time, neither is ever held whole. The rows are
read on a read-only session of their own, in a database slot of their own, after the request's
own transaction (which counted them for `X-Total-Count`) has ended: a write committed in between
may show in the rows and not in the count, as between any two requests.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import orjson
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy import Result, Select
from sqlalchemy.orm import Session
from starlette.types import Receive, Scope, Send

from studentgroups.db import for_whole_joins
from studentgroups.dependencies import database_slot
from studentgroups.responses import CSV_MEDIA_TYPE, csv_bytes, download_headers

CHUNK_ROWS = 2_000
"""Rows read and encoded at a time: 2,000 students are about 600 KB of JSON."""

logger = logging.getLogger("studentgroups.streaming")

RowShape = Callable[[dict[str, Any]], dict[str, Any]]
"""What a row (its columns by label, a dict of its own to change) becomes on the wire."""


def stream_json_array(
    request: Request, stmt: Select[Any], shape: RowShape, *, whole_joins: bool = False
) -> StreamingResponse:
    """The rows of `stmt`, each through `shape`, as a JSON array streamed in chunks
    (`whole_joins`: an export's join, read whole: `db.for_whole_joins`)."""

    def encoded(rows: list[dict[str, Any]], first: bool) -> bytes:
        return (b"[" if first else b",") + orjson.dumps([shape(row) for row in rows])[1:-1]

    return _stream_rows(request, stmt, encoded, b"]", media_type="application/json", whole_joins=whole_joins)


def stream_csv(
    request: Request,
    stmt: Select[Any],
    header: Sequence[str],
    cells: Callable[[dict[str, Any]], Sequence[Any]],
    filename: str,
) -> StreamingResponse:
    """The rows of `stmt` as CSV (RFC 4180, UTF-8, a header row first), streamed in chunks, as a
    download named `filename`."""

    def encoded(rows: list[dict[str, Any]], first: bool) -> bytes:
        return csv_bytes((cells(row) for row in rows), header if first else None)

    return _stream_rows(
        request,
        stmt,
        encoded,
        b"",
        media_type=CSV_MEDIA_TYPE,
        headers=download_headers(filename),
        whole_joins=True,
    )


def _stream_rows(
    request: Request,
    stmt: Select[Any],
    encoded: Callable[[list[dict[str, Any]], bool], bytes],
    end: bytes,
    *,
    media_type: str,
    headers: dict[str, str] | None = None,
    whole_joins: bool = False,
) -> StreamingResponse:
    state = request.app.state

    async def chunks() -> AsyncIterator[bytes]:
        async with database_slot(state):
            session: Session = state.read_sessions()
            started = False
            try:
                if whole_joins:
                    await run_in_threadpool(for_whole_joins, session)
                # Core on the session's connection: plain tuples, no ORM loading per row.
                result: Result[Any] = await run_in_threadpool(
                    lambda: session.connection().execute(stmt.execution_options(yield_per=CHUNK_ROWS))
                )
                keys = list(result.keys())

                def by_label(rows: Sequence[Any]) -> list[dict[str, Any]]:
                    return [dict(zip(keys, row, strict=True)) for row in rows]

                first = await run_in_threadpool(result.fetchmany, CHUNK_ROWS)
                started = True
                if len(first) < CHUNK_ROWS:
                    # All there is: sent whole, with no more asked of a database that may be gone.
                    yield encoded(by_label(first), True) + end
                    return
                yield encoded(by_label(first), True)
                while rows := await run_in_threadpool(result.fetchmany, CHUNK_ROWS):
                    yield encoded(by_label(rows), False)
                if end:
                    yield end
            except Exception:
                if started:
                    # The answer's status is sent already: the client sees a cut body, never a
                    # well-formed part of one, and the log says why.
                    logger.exception("a streamed list stopped part-way")
                raise
            finally:
                await run_in_threadpool(_close, session)

    return _FirstChunkFirst(chunks(), media_type=media_type, headers=headers)


class _FirstChunkFirst(StreamingResponse):
    """A streamed answer whose first chunk is read before its status is sent: a list that cannot
    start (the database gone, its slot not free) is an error answer (a 503 with `Retry-After`),
    never a cut body; a list of one chunk (every page of up to 2,000) is sent whole, the database
    asked nothing more, so it is never cut at all."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rest = aiter(self.body_iterator)
        first = await anext(rest)  # raised before anything is sent: the error handlers answer

        async def again() -> AsyncIterator[str | bytes | memoryview[int]]:
            yield first
            async for part in rest:
                yield part

        self.body_iterator = again()
        await super().__call__(scope, receive, send)


def _close(session: Session) -> None:
    """End the read's transaction. Its rows are sent by then: a database gone meanwhile makes
    the rollback fail, which must not cut an answer already whole (it is logged)."""
    try:
        session.rollback()
    except Exception:
        logger.warning("a streamed list's read session did not roll back", exc_info=True)
    finally:
        session.close()
