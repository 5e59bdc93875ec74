"""Reading an import file (CSV): UTF-8 text, a header row, every row checked, each problem with its line.

What the imports (rosters, results) share. A `CsvFormat` says which columns a kind of file has
and which it needs; `read_csv` checks every row with the import's own rule and collects every
problem with the line it is on. Lines are the file's physical lines, so a quoted cell may span
several and the lines after it are still numbered right. Nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Generic, TypeVar

from pydantic import ValidationError

from studentgroups.errors import BadRequest, FieldError

MAX_PROBLEMS = 1_000
"""Problems collected before the check stops: enough to fix a file, bounded for a broken one."""

PROGRESS_EVERY = 1_000
"""Rows checked between two progress reports."""

OnProgress = Callable[[str, int, int], None]
"""Told `(stage, done, total)` as the work goes, e.g. `("checking lines", 5000, 20000)`."""

Entry = TypeVar("Entry")


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A bad row (or header): where it is, which column, which rule, and in words."""

    line: int
    column: str | None
    rule: str
    message: str
    file: str | None = None
    """The file it is in, when an import reads several (a OneRoster bundle's `users.csv`)."""

    @property
    def location(self) -> str:
        """`line 3`, or `users.csv line 3`."""
        return f"line {self.line}" if self.file is None else f"{self.file} line {self.line}"

    def __str__(self) -> str:
        where = self.location if self.column is None else f"{self.location}, column {self.column}"
        return f"{where}: {self.message} [{self.rule}]"


class InvalidCsvFile(BadRequest):
    """The file has bad rows (or a bad header, or is not text); nothing was written.

    Each import names its own subclass, whose `kind` the message uses ("roster file").
    """

    kind: ClassVar[str] = "file"

    def __init__(self, problems: Sequence[RowProblem]) -> None:
        ordered = sorted(problems, key=lambda p: (p.file or "", p.line))
        lines = {(p.file, p.line) for p in ordered}
        super().__init__(
            f"{len(ordered)} problem(s) on {len(lines)} line(s) of the {self.kind}; nothing was written.",
            errors=[
                FieldError(field=p.column or "row", rule=p.rule, message=p.message, location=p.location)
                for p in ordered
            ],
        )
        self.problems = ordered


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """What one kind of import file looks like."""

    name: str
    """What the file holds, in messages: "roster" (`not a roster column`)."""
    columns: tuple[str, ...]
    """Every column the header may name, the first one first in messages."""
    required: tuple[tuple[str, ...], ...]
    """Columns the header must name: at least one of each tuple (`("uid", "student_id")`)."""
    rows: str
    """What its rows are, plural: "students" (`the file has a header but no students`)."""
    error: type[InvalidCsvFile]
    """The error that refuses such a file."""
    open_columns: bool = False
    """Whether the header may name other columns than `columns` (a roster's own attributes)."""


@dataclass(frozen=True, slots=True)
class CheckedFile(Generic[Entry]):
    """A file's rows that passed their checks, in file order, and the problems of the others."""

    entries: list[Entry]
    problems: list[RowProblem]
    columns: list[str] = field(default_factory=list)
    """The header's columns (trimmed, lower case), in its order."""
    header_line: int = 1


RowCheck = Callable[[int, Mapping[str, str]], "Entry | list[RowProblem]"]
"""Makes a row's entry from its line and its cells by column (only the non-empty ones, stripped);
returns the row's problems, or raises pydantic's ValidationError, when the row breaks a rule."""


def counted(n: int, noun: str) -> str:
    """`1 student`, `2 students`: a count for a summary line."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def decode_csv(data: bytes, file_format: CsvFormat) -> str:
    """The file's text (UTF-8, with or without a byte-order mark); a problem naming the line if not."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise file_format.error(
            [RowProblem(line, None, "encoding", f"not UTF-8 text (byte {error.start + 1} of the file)")]
        ) from None


def read_header(cells: Sequence[str], line: int, file_format: CsvFormat) -> list[str]:
    """The columns a header row names (trimmed, lower case), or the format's error saying what is wrong."""
    columns = [cell.strip().lower() for cell in cells]
    problems: list[RowProblem] = []
    known = ", ".join(file_format.columns)
    for position, column in enumerate(columns, start=1):
        if not column or (column not in file_format.columns and not file_format.open_columns):
            shown = column or f"(empty, column {position})"
            problems.append(
                RowProblem(
                    line,
                    shown,
                    "unknown_column",
                    f"not a {file_format.name} column; the columns are {known}",
                )
            )
        elif column in columns[: position - 1]:
            problems.append(RowProblem(line, column, "duplicate_column", "named twice in the header"))
    for choices in file_format.required:
        if not set(choices) & set(columns):
            either = " or ".join(choices)
            problems.append(
                RowProblem(
                    line,
                    either,
                    "missing_column",
                    f"the header must name a {either} column (columns: {known})",
                )
            )
    if problems:
        raise file_format.error(problems)
    return columns


def validation_problems(error: ValidationError, line: int) -> list[RowProblem]:
    """Pydantic's errors for one row, as problems of its line (the column is the field's name)."""
    return [
        RowProblem(
            line,
            str(e["loc"][0]) if e["loc"] else None,
            e["type"],
            "required" if e["type"] == "missing" else e["msg"],
        )
        for e in error.errors(include_url=False)
    ]


def _check_row(
    columns: Sequence[str],
    cells: Sequence[str],
    line: int,
    check: RowCheck[Entry],
    kept: Sequence[tuple[int, str]] | None = None,
) -> Entry | list[RowProblem]:
    if len(cells) != len(columns):
        return [
            RowProblem(
                line,
                None,
                "cell_count",
                f"{len(cells)} cell(s), but the header names {len(columns)} column(s)",
            )
        ]
    if kept is None:
        values = {
            column: value for column, cell in zip(columns, cells, strict=True) if (value := cell.strip())
        }
    else:
        values = {column: value for i, column in kept if (value := cells[i].strip())}
    try:
        return check(line, values)
    except ValidationError as error:
        return validation_problems(error, line)


def read_csv(
    text: str,
    file_format: CsvFormat,
    check: RowCheck[Entry],
    *,
    on_progress: OnProgress | None = None,
    keep: Collection[str] | None = None,
) -> CheckedFile[Entry]:
    """Every row of a file's text after its header, checked with `check` (`keep`: given only the
    cells of these columns, for a file whose other columns the import never reads).

    Blank lines are skipped, cells are stripped of surrounding spaces, and an empty cell means
    "not given". A file with no header, or a bad one, is refused at once with the format's error;
    the rows' problems are returned (with one saying so when the file has a header and no rows),
    so that the import can add its own before it refuses the file.
    """
    total_lines = sum(1 for _ in io.StringIO(text, newline=""))
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[RowProblem] = []
    entries: list[Entry] = []
    columns: list[str] | None = None
    kept: list[tuple[int, str]] | None = None
    header_line = next_start = 1
    rows = 0
    try:
        for cells in reader:
            # A quoted cell may span lines: a row starts where the previous one ended.
            line, next_start = next_start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                header_line, columns = line, read_header(cells, line, file_format)
                if keep is not None:
                    kept = [(i, c) for i, c in enumerate(columns) if c in keep]
                continue
            checked = _check_row(columns, cells, line, check, kept)
            if isinstance(checked, list):
                problems.extend(checked)
            else:
                entries.append(checked)
            rows += 1
            if on_progress is not None and rows % PROGRESS_EVERY == 0:
                on_progress("checking lines", reader.line_num, total_lines)
            if len(problems) >= MAX_PROBLEMS:
                problems.append(
                    RowProblem(
                        line, None, "too_many_problems", f"checking stopped after {len(problems)} problems"
                    )
                )
                break
    except csv.Error as error:
        problems.append(RowProblem(next_start, None, "csv", f"not readable as CSV: {error}"))
    if on_progress is not None:
        on_progress("checking lines", total_lines, total_lines)
    if columns is None:
        empty = RowProblem(
            1,
            None,
            "empty",
            f"the file is empty; its first line must name the columns ({file_format.columns[0]}, …)",
        )
        raise file_format.error(problems or [empty])
    if not entries and not problems:
        problems.append(
            RowProblem(header_line, None, "empty", f"the file has a header but no {file_format.rows}")
        )
    return CheckedFile(entries, problems, columns, header_line)
