"""Importing results from a CSV file: check every row first, then store them all in one unit of work.

The file has a header row: `uid` or `student_id` (each row names its student by exactly one of
them, as the API's rows do), `item`, `score`, and optionally `max_score` (1 by default) and
`recorded_at` (`YYYY-MM-DD HH:MM:SS` UTC or ISO 8601; by default the time of the import, one
for the whole file). Each row is checked by the API's own `ResultIn`, and every row whose
student is not the instance's is found before anything is written: each is reported with its
line, and nothing is written while one is bad. The results are then stored in batches of the
API's size through `service.record_results`: students looked up in chunks, rows written in
bulk, never a query per row. Flushes, never commits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import orjson
from sqlalchemy.orm import Session

from studentgroups.csv_import import CsvFormat, InvalidCsvFile, OnProgress, RowProblem, counted, read_csv
from studentgroups.db import utcnow
from studentgroups.errors import BadRequest
from studentgroups.instances.service import get_instance
from studentgroups.lookup import existing_student_ids, student_ids_by_uid
from studentgroups.results import service
from studentgroups.results.schemas import MAX_RESULTS_PER_CALL, ResultIn

RESULTS_COLUMNS = ("uid", "student_id", "item", "score", "max_score", "recorded_at")
"""The columns a results file may have."""

NUMBER_COLUMNS = frozenset({"score", "max_score"})
"""Columns whose cells are numbers (the API takes them only as JSON numbers, never as text)."""

BATCH = MAX_RESULTS_PER_CALL
"""Results stored per call of the service: the most one POST /results may hold."""

_INTEGER = re.compile(r"[+-]?\d{1,19}")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class InvalidResultsFile(InvalidCsvFile):
    """The results file has bad rows; nothing was written."""

    kind = "results file"


RESULTS_FILE = CsvFormat(
    name="results",
    columns=RESULTS_COLUMNS,
    required=(("uid", "student_id"), ("item",), ("score",)),
    rows="results",
    error=InvalidResultsFile,
)
"""A results file: a header row naming `uid` or `student_id` (or both), `item` and `score`."""


@dataclass(frozen=True, slots=True)
class ResultRow:
    """A checked row of the file and the line it starts on."""

    line: int
    result: ResultIn


@dataclass(frozen=True, slots=True)
class ResultsImport:
    """What an import stored."""

    results: int
    students: int
    items: int

    def summary(self) -> str:
        """One line for people: `25000 results stored for 1200 students (3 items)`."""
        return (
            f"{counted(self.results, 'result')} stored for {counted(self.students, 'student')} "
            f"({counted(self.items, 'item')})"
        )


def _as_json(values: Mapping[str, str]) -> bytes:
    # A cell is text: a decimal becomes the number it writes and an id the integer, anything else
    # stays text for ResultIn to refuse as not a number, exactly as it refuses `"0.5"` in JSON.
    row: dict[str, object] = {}
    for column, value in values.items():
        if column in NUMBER_COLUMNS and _DECIMAL.fullmatch(value):
            row[column] = float(value)
        elif column == "student_id" and _INTEGER.fullmatch(value):
            row[column] = int(value)
        else:
            row[column] = value
    return orjson.dumps(row)


def _result_row(line: int, values: Mapping[str, str]) -> ResultRow:
    # Checked as the JSON of the API's own body would be: a time is its text there too.
    return ResultRow(line, ResultIn.model_validate_json(_as_json(values)))


def parse_results_csv(text: str, *, on_progress: OnProgress | None = None) -> list[ResultRow]:
    """Every row of a results file's text, checked as POST /results checks a result.

    InvalidResultsFile lists every problem (line, column, rule) if one row is bad. Blank lines are
    skipped, cells are stripped of surrounding spaces, and an empty cell means "not given".
    """
    checked = read_csv(text, RESULTS_FILE, _result_row, on_progress=on_progress)
    if checked.problems:
        raise InvalidResultsFile(checked.problems)
    return checked.entries


def _unknown_student(row: ResultRow) -> RowProblem:
    result = row.result
    if result.uid is None:
        return RowProblem(
            row.line, "student_id", "not_found", f"no student {result.student_id} in this instance"
        )
    return RowProblem(row.line, "uid", "not_found", f"no student {result.uid!r} in this instance")


def _student_ids(
    session: Session, *, instance_id: int, rows: Sequence[ResultRow], on_progress: OnProgress | None
) -> list[int]:
    """Each row's student id, found in chunks; InvalidResultsFile naming every row whose student is
    not one of the instance's."""
    ids = list(dict.fromkeys(r.result.student_id for r in rows if r.result.student_id is not None))
    uids = list(dict.fromkeys(r.result.uid for r in rows if r.result.uid is not None))
    known_ids = existing_student_ids(session, instance_id=instance_id, student_ids=ids)
    id_of_uid = student_ids_by_uid(
        session,
        instance_id=instance_id,
        uids=uids,
        on_progress=None if on_progress is None else partial(on_progress, "looking up students"),
    )
    student_ids: list[int] = []
    unknown: list[RowProblem] = []
    for row in rows:
        uid, student_id = row.result.uid, row.result.student_id
        found = id_of_uid.get(uid) if uid is not None else (student_id if student_id in known_ids else None)
        if found is None:
            unknown.append(_unknown_student(row))
        else:
            student_ids.append(found)
    if unknown:
        raise InvalidResultsFile(unknown)
    return student_ids


def import_results(
    session: Session,
    *,
    instance_id: int,
    rows: Sequence[ResultRow],
    on_progress: OnProgress | None = None,
) -> ResultsImport:
    """Store the file's results in the instance, all or none.

    A row whose student is not the instance's is an error (each named with its line). Rows
    without `recorded_at` get the time of the import, the same for all of them.
    """
    get_instance(session, instance_id=instance_id)
    student_ids = _student_ids(session, instance_id=instance_id, rows=rows, on_progress=on_progress)
    now = utcnow()
    results = [
        r.result if r.result.recorded_at is not None else r.result.model_copy(update={"recorded_at": now})
        for r in rows
    ]
    for start in range(0, len(results), BATCH):
        batch = results[start : start + BATCH]
        try:
            service.record_results(session, instance_id=instance_id, results=batch)
        except BadRequest as error:
            # A student removed since the check: the service names the rows of its batch.
            named = _rows_named(error)
            if not named:
                raise
            raise InvalidResultsFile([_unknown_student(rows[start + row]) for row in named]) from None
        if on_progress is not None:
            on_progress("storing results", start + len(batch), len(results))
    return ResultsImport(
        results=len(results), students=len(set(student_ids)), items=len({r.item for r in results})
    )


def _rows_named(error: BadRequest) -> list[int]:
    """The rows a batch's error names (`<row>.<field>`), in order."""
    rows = {e.field.split(".", 1)[0] for e in error.errors}
    return sorted(int(row) for row in rows if row.isdigit())
