"""Reading a grouping back from CSV: the file an export wrote, in any of its layouts.

Each row puts a student (`uid`; Canvas's `user_id`; Moodle's `username`) in a group by name
(`group`; `group_name`; `group1`); other columns (ids, names, `course1`) are read past. Every
bad row is reported with its line; the import saves the whole file as one formation or nothing
(`formations.service.import_grouping`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from studentgroups.csv_import import CsvFormat, InvalidCsvFile, RowProblem, read_csv

UID_COLUMNS = ("uid", "user_id", "username")
GROUP_COLUMNS = ("group", "group_name", "group1")


class InvalidGroupingFile(InvalidCsvFile):
    """The grouping file has bad rows; nothing was written."""

    kind = "grouping file"


GROUPING_FILE = CsvFormat(
    name="grouping",
    columns=(*UID_COLUMNS, *GROUP_COLUMNS, "group_id", "student_id", "name", "course1"),
    required=(UID_COLUMNS, GROUP_COLUMNS),
    rows="students",
    error=InvalidGroupingFile,
    open_columns=True,
)


@dataclass(frozen=True, slots=True)
class GroupingRow:
    """A student and the group it goes in, and the line it is on."""

    line: int
    uid: str
    group: str


def _row(line: int, values: Mapping[str, str]) -> GroupingRow | list[RowProblem]:
    uid = next((values[c] for c in UID_COLUMNS if values.get(c)), "")
    group = next((values[c] for c in GROUP_COLUMNS if values.get(c)), "")
    problems = []
    if not uid:
        problems.append(RowProblem(line, "uid", "missing", "required"))
    if not group:
        problems.append(RowProblem(line, "group", "missing", "required"))
    return problems or GroupingRow(line, uid, group)


def parse_grouping_csv(text: str) -> list[GroupingRow]:
    """Every row of a grouping file, checked; InvalidGroupingFile lists every problem if one is bad."""
    checked = read_csv(text, GROUPING_FILE, _row)
    if checked.problems:
        raise InvalidGroupingFile(checked.problems)
    return checked.entries
