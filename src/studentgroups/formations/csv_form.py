"""Forming groups from a CSV roster, with no database: `studentgroups form ROSTER.csv`.

The roster has a header row: `uid` and any columns of the students' attributes (names are read
in lower case). The columns named as numbers must hold numbers (an empty cell is a missing
value, which the engine imputes); the others are read as text. The groups come out as CSV:
`uid,group`, group by group.
"""

from __future__ import annotations

import csv
import math
from array import array
from collections.abc import Mapping, Sequence
from typing import TextIO

import numpy as np

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


def read_roster(text: str, *, numeric: Sequence[str], categorical: Sequence[str]) -> grouping.MemberColumns:
    """The roster's students with the attributes named, as columns (a million rows take no object
    each); InvalidFormationRoster lists every problem (a missing column, a number that is not
    one, a uid given twice) with its line."""
    wanted_numeric = list(dict.fromkeys(a.lower() for a in numeric))
    wanted_categorical = list(dict.fromkeys(a.lower() for a in categorical))
    uids: list[str] = []
    lines = array("l")
    numbers = {name: array("d") for name in wanted_numeric}
    categories: dict[str, list[str]] = {name: [] for name in wanted_categorical}
    distinct: dict[str, dict[str, str]] = {name: {} for name in wanted_categorical}

    def check(line: int, values: Mapping[str, str]) -> bool | list[RowProblem]:
        uid = values.get("uid", "")
        if not uid:
            return [RowProblem(line, "uid", "missing", "required")]
        row: list[float] = []
        bad: list[RowProblem] = []
        for name in wanted_numeric:
            cell = values.get(name)
            try:
                number = math.nan if cell is None else float(cell)
            except ValueError:
                number = math.inf
            if not math.isfinite(number) and cell is not None:
                bad.append(RowProblem(line, name, "not_a_number", f"{cell!r} is not a number"))
            row.append(number)
        if bad:
            return bad
        uids.append(uid)
        lines.append(line)
        for name, number in zip(wanted_numeric, row, strict=True):
            numbers[name].append(number)
        for name in wanted_categorical:
            value = values.get(name, "")
            categories[name].append(distinct[name].setdefault(value, value))
        return True

    checked = read_csv(text, ROSTER, check)
    problems = list(checked.problems)
    for name in dict.fromkeys(wanted_numeric + wanted_categorical):
        if name not in checked.columns:
            problems.append(
                RowProblem(
                    checked.header_line, name, "missing_column", "named as an attribute but not a column"
                )
            )
    problems.extend(_duplicates(uids, lines))
    if problems:
        raise InvalidFormationRoster(problems)
    return grouping.MemberColumns(
        keys=uids,
        numeric={name: np.frombuffer(column, dtype=np.float64) for name, column in numbers.items()},
        categorical=categories,
    )


def _duplicates(uids: Sequence[str], lines: Sequence[int]) -> list[RowProblem]:
    """A problem on each line whose uid an earlier line has (a set, not a dict of every uid)."""
    seen: set[str] = set()
    repeated: list[int] = []
    for position, uid in enumerate(uids):
        if uid in seen:
            repeated.append(position)
        seen.add(uid)
    if not repeated:
        return []
    wanted = {uids[p] for p in repeated}
    first: dict[str, int] = {}
    for position, uid in enumerate(uids):
        if uid in wanted:
            first.setdefault(uid, lines[position])
    return [
        RowProblem(lines[p], "uid", "duplicate", f"uid {uids[p]!r} is also on line {first[uids[p]]}")
        for p in repeated
    ]


def write_groups_csv(
    out: TextIO, groups: Sequence[tuple[str, Sequence[str]]], unplaced: Sequence[str]
) -> None:
    """`uid,group` for every member, group by group (the ones left out last, with no group),
    written as it goes."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["uid", "group"])
    for name, members in groups:
        writer.writerows([uid, name] for uid in members)
    writer.writerows([uid, ""] for uid in unplaced)
