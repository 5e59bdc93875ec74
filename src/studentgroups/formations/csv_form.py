"""Forming groups from a CSV roster, with no database: `studentgroups form ROSTER.csv`.

The roster has a header row: `uid` and any columns of the students' attributes (names are read
in lower case). The columns named as numbers must hold numbers (an empty cell is a missing
value, which the engine imputes); the others are read as text. The groups come out as CSV:
`uid,group`, group by group.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from studentgroups import grouping
from studentgroups.csv_import import CsvFormat, InvalidCsvFile, RowProblem, read_csv


class InvalidFormationRoster(InvalidCsvFile):
    """The roster has bad rows; no group was formed."""

    kind = "roster file"


ROSTER = CsvFormat(
    name="roster",
    columns=("uid",),
    required=(("uid",),),
    rows="students",
    error=InvalidFormationRoster,
    open_columns=True,
)


@dataclass(frozen=True, slots=True)
class RosterRow:
    """A student of the roster and the line it is on."""

    line: int
    member: grouping.Member


def read_roster(text: str, *, numeric: Sequence[str], categorical: Sequence[str]) -> list[grouping.Member]:
    """The roster's students with the attributes named; InvalidFormationRoster lists every problem
    (a missing column, a number that is not one, a uid given twice) with its line."""
    wanted_numeric = [a.lower() for a in numeric]
    wanted_categorical = [a.lower() for a in categorical]
    problems: list[RowProblem] = []

    def check(line: int, values: Mapping[str, str]) -> RosterRow | list[RowProblem]:
        uid = values.get("uid", "")
        if not uid:
            return [RowProblem(line, "uid", "missing", "required")]
        numbers: dict[str, float] = {}
        bad: list[RowProblem] = []
        for name in wanted_numeric:
            if name in values:
                try:
                    number = float(values[name])
                except ValueError:
                    number = math.nan
                if not math.isfinite(number):
                    bad.append(RowProblem(line, name, "not_a_number", f"{values[name]!r} is not a number"))
                else:
                    numbers[name] = number
        if bad:
            return bad
        categories = {name: values[name] for name in wanted_categorical if name in values}
        return RosterRow(line, grouping.Member(key=uid, numeric=numbers, categorical=categories))

    checked = read_csv(text, ROSTER, check)
    rows = checked.entries
    problems.extend(checked.problems)
    header = _header(text)
    for name in dict.fromkeys(wanted_numeric + wanted_categorical):
        if header and name not in header:
            problems.append(RowProblem(1, name, "missing_column", "named as an attribute but not a column"))
    first_line: dict[str, int] = {}
    for row in rows:
        key = row.member.key
        if key in first_line:
            problems.append(
                RowProblem(row.line, "uid", "duplicate", f"uid {key!r} is also on line {first_line[key]}")
            )
        first_line.setdefault(key, row.line)
    if problems:
        raise InvalidFormationRoster(problems)
    return [row.member for row in rows]


def _header(text: str) -> set[str]:
    for cells in csv.reader(io.StringIO(text, newline="")):
        if any(cell.strip() for cell in cells):
            return {cell.strip().lower() for cell in cells}
    return set()


def groups_csv(groups: Sequence[tuple[str, Sequence[str]]], unplaced: Sequence[str]) -> str:
    """`uid,group` for every member, group by group (the ones left out last, with no group)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["uid", "group"])
    for name, members in groups:
        writer.writerows([uid, name] for uid in members)
    writer.writerows([uid, ""] for uid in unplaced)
    return out.getvalue()
