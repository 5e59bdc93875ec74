"""JSON answers encoded by orjson: lists of rows the database shaped (`listing`), and big
answers already made of plain dicts and lists; CSV answers, and which of the two a request wants."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from fastapi import Request, Response
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


CSV = "text/csv"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}, "description": "The rows, as CSV."}
}
"""For a route's `responses`: it may also answer CSV."""


def wants_csv(request: Request) -> bool:
    """Whether the request asks for CSV: a `.csv` path, or an `Accept` that prefers CSV to JSON
    (the first of the two it names)."""
    if request.url.path.endswith(".csv"):
        return True
    for part in request.headers.get("accept", "").split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in (CSV, "application/csv"):
            return True
        if media in ("application/json", "*/*"):
            return False
    return False


def download_headers(filename: str) -> dict[str, str]:
    """A CSV answer's headers: a download named `filename`."""
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def csv_bytes(rows: Iterable[Sequence[Any]], header: Sequence[str] | None = None) -> bytes:
    """Rows as CSV (RFC 4180, CRLF line ends, UTF-8), after a header row when one is given."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if header is not None:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def csv_response(header: Sequence[str], rows: Sequence[Sequence[Any]], filename: str) -> Response:
    """A small CSV answer (a header row first), made whole."""
    return Response(csv_bytes(rows, header), media_type=CSV_MEDIA_TYPE, headers=download_headers(filename))
