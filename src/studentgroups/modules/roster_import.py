"""Importing a module's roster (or guests) from a CSV file: check every row first, then write it all.

The file has a header row; `uid` is required and `name`, `sexe`, `date_of_birth`,
`country_of_residence` and `city_of_residence` (the Domoscio profile) are optional. Any other
column is an attribute (`score`, `gender`, `major`, `section`, …), set on every student of the
file, new or not, beside the attributes it has (what formations balance): a column whose cells
are all numbers holds numbers, any other text. An import may declare columns: a numeric one
must hold numbers, a category only its listed values; a cell that does not is an error on its
line. Every bad row is reported with its line, column and rule, and nothing is written while
one is bad. The write is one unit of work, set-based: students are looked up in chunks, new
ones inserted with multi-row inserts, the others' attributes updated in one statement run for
each, and all of them put on the roster with the bulk membership writer. Flushes, never commits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session

from studentgroups.csv_import import CsvFormat, InvalidCsvFile, OnProgress, RowProblem, counted, read_csv
from studentgroups.errors import NotFound
from studentgroups.groups.service import member_count
from studentgroups.instances.service import get_instance
from studentgroups.lookup import student_ids_by_uid
from studentgroups.modules.service import ModuleView, add_to_roster_group, get_module, roster_group_id
from studentgroups.students.schemas import MAX_ATTRIBUTE_KEY, MAX_ATTRIBUTE_TEXT, MAX_ATTRIBUTES, Sexe, Uid
from studentgroups.students.service import upsert_students
from studentgroups.tables.modules import Module
from studentgroups.tenancy import scoped
from studentgroups.wire import OptionalText

ROSTER_COLUMNS = ("uid", "name", "sexe", "date_of_birth", "country_of_residence", "city_of_residence")
"""The columns a roster file may have, `uid` first (the only required one)."""

LOOKUP_CHUNK = 5_000
"""Students looked up (or added to the roster) per query: an `IN` list every driver accepts."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: Any) -> Any:
    # In a CSV, `YYYY-MM-DD` only: pydantic would also read a number as a Unix time.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise PydanticCustomError("date_format", "must be a date written YYYY-MM-DD")
    return value


class StudentProfile(BaseModel):
    """One row of a roster file: a student's uid and Domoscio profile, checked as the API checks them."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)

    uid: Uid
    name: OptionalText | None = None
    sexe: Sexe | None = None
    date_of_birth: Annotated[date | None, BeforeValidator(_iso_date)] = None
    country_of_residence: OptionalText | None = None
    city_of_residence: OptionalText | None = None


AttributeValue = str | int | float


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A checked row of the file, the line it starts on, and its attributes (the non-empty cells
    of the file's other columns, typed)."""

    line: int
    student: StudentProfile
    attributes: Mapping[str, AttributeValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Declared:
    """What an import says its attribute columns hold: `numeric` columns numbers only,
    `categories` only their listed values; the other columns are typed by what they hold."""

    numeric: Sequence[str] = ()
    categories: Mapping[str, Sequence[str]] = field(default_factory=dict)


class InvalidRosterFile(InvalidCsvFile):
    """The roster file has bad rows; nothing was written."""

    kind = "roster file"


ROSTER_FILE = CsvFormat(
    name="roster",
    columns=ROSTER_COLUMNS,
    required=(("uid",),),
    rows="students",
    error=InvalidRosterFile,
    open_columns=True,
)
"""A roster file: a header row naming `uid`, any of the profile's columns, and attributes."""

_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$")
"""A number as a CSV writes one: no leading zero (`007` is a code, kept as text), no `inf`."""


@dataclass(frozen=True, slots=True)
class RosterImport:
    """What an import did."""

    module_code: str
    guests: bool
    rows: int
    created: int
    already: int
    total: int

    def summary(self) -> str:
        """One line for people: `120 students on the roster of CS1010 (40 new students created, ...)`."""
        where = "in the guest group" if self.guests else "on the roster"
        already = "already in it" if self.guests else "already on it"
        return (
            f"{counted(self.total, 'student')} {where} of {self.module_code} "
            f"({counted(self.created, 'new student')} created, {self.already} {already})"
        )


def duplicate_uids(entries: Iterable[RosterEntry]) -> list[RowProblem]:
    """A problem for each row whose uid an earlier row already has."""
    first_line: dict[str, int] = {}
    problems = []
    for entry in entries:
        uid = entry.student.uid
        if uid in first_line:
            problems.append(
                RowProblem(entry.line, "uid", "duplicate", f"uid {uid!r} is also on line {first_line[uid]}")
            )
        else:
            first_line[uid] = entry.line
    return problems


def _roster_entry(line: int, values: Mapping[str, str]) -> RosterEntry:
    profile = {k: v for k, v in values.items() if k in ROSTER_COLUMNS}
    cells = {k: v for k, v in values.items() if k not in ROSTER_COLUMNS}
    return RosterEntry(line, StudentProfile.model_validate(profile), cells)


def _number(cell: str) -> int | float | None:
    """The cell's number (an int when written as one, within 2**53), or None."""
    if not _NUMBER.match(cell):
        return None
    number = float(cell)
    if not math.isfinite(number):
        return None
    if "." not in cell and "e" not in cell.lower() and abs(number) <= 2**53:
        return int(cell)
    return number


def _header_problems(columns: Sequence[str], line: int, declared: Declared) -> list[RowProblem]:
    attributes = [c for c in columns if c not in ROSTER_COLUMNS]
    problems = [
        RowProblem(line, c, "too_long", f"an attribute's name has at most {MAX_ATTRIBUTE_KEY} characters")
        for c in attributes
        if len(c) > MAX_ATTRIBUTE_KEY
    ]
    if len(attributes) > MAX_ATTRIBUTES:
        problems.append(RowProblem(line, None, "too_many", f"at most {MAX_ATTRIBUTES} attribute columns"))
    for name in dict.fromkeys([*declared.numeric, *declared.categories]):
        if name not in attributes:
            problems.append(RowProblem(line, name, "missing_column", "declared, but not an attribute column"))
    return problems


def typed_attributes(
    entries: Sequence[RosterEntry], declared: Declared
) -> tuple[list[RosterEntry], list[RowProblem]]:
    """The entries with their attribute cells typed: numbers where the column is numeric (declared,
    or every non-empty cell a number), else text; the problems of cells that break a declaration
    or a limit, each on its line."""
    columns = list(dict.fromkeys(k for e in entries for k in e.attributes))
    # Each cell read as a number once: the column's type comes of all its cells, then each is typed.
    numbers: dict[str, list[int | float | None]] = {
        c: [_number(str(v)) if (v := e.attributes.get(c)) else None for e in entries]
        for c in columns
        if c in declared.numeric or c not in declared.categories
    }
    numeric = {
        c
        for c in numbers
        if c in declared.numeric
        or all(n is not None for e, n in zip(entries, numbers[c], strict=True) if e.attributes.get(c))
    }
    allowed = {name: set(values) for name, values in declared.categories.items()}
    problems: list[RowProblem] = []
    typed: list[RosterEntry] = []
    for row, entry in enumerate(entries):
        values: dict[str, AttributeValue] = {}
        for column, raw in entry.attributes.items():
            cell = str(raw)  # as read: the cell's text
            if column in numeric:
                number = numbers[column][row]
                if number is None:
                    problems.append(
                        RowProblem(entry.line, column, "not_a_number", f"{cell!r} is not a number")
                    )
                    continue
                values[column] = number
            elif column in allowed and cell not in allowed[column]:
                listed = ", ".join(declared.categories[column])
                problems.append(
                    RowProblem(entry.line, column, "unknown_value", f"{cell!r} is not one of {listed}")
                )
            elif len(cell) > MAX_ATTRIBUTE_TEXT:
                problems.append(
                    RowProblem(entry.line, column, "too_long", f"at most {MAX_ATTRIBUTE_TEXT} characters")
                )
            else:
                values[column] = cell
        typed.append(RosterEntry(entry.line, entry.student, values))
    return typed, problems


def parse_roster_csv(
    text: str, *, declared: Declared | None = None, on_progress: OnProgress | None = None
) -> list[RosterEntry]:
    """Every row of a roster file's text, checked, with its attributes typed; InvalidRosterFile
    lists every problem if one is bad.

    Blank lines are skipped, cells are stripped of surrounding spaces, and an empty cell means
    "not given". Line numbers count physical lines, so a quoted cell may span several.
    """
    declared = declared or Declared()
    checked = read_csv(text, ROSTER_FILE, _roster_entry, on_progress=on_progress)
    entries, typing_problems = typed_attributes(checked.entries, declared)
    problems = [
        *_header_problems(checked.columns, checked.header_line, declared),
        *checked.problems,
        *typing_problems,
        *duplicate_uids(entries),
    ]
    if problems:
        raise InvalidRosterFile(problems)
    return entries


def find_module(session: Session, *, instance_id: int, module: str) -> ModuleView:
    """The instance's module with this code or, failing that, this integer id; NotFound otherwise."""
    get_instance(session, instance_id=instance_id)
    found = session.scalar(scoped(Module, instance_id).where(Module.code == module))
    if found is not None:
        return get_module(session, instance_id=instance_id, module_id=found.id)
    if module.isdigit() and len(module) < 19:  # any id, and never a number past 64 bits
        try:
            return get_module(session, instance_id=instance_id, module_id=int(module))
        except NotFound:
            pass
    raise NotFound(f"No module with code or id {module!r} in instance {instance_id}.")


def import_roster(
    session: Session,
    *,
    instance_id: int,
    module: str,
    entries: Sequence[RosterEntry],
    guests: bool = False,
    create_missing: bool = True,
    on_progress: OnProgress | None = None,
) -> RosterImport:
    """Put the file's students on a module's roster (or guest group), all or none.

    `module` is the module's code or id. Students whose uid is new are created with the file's
    profile when `create_missing`, else they are an error (each named with its line); existing
    students keep their profile. Every student of the file has its attributes set beside the
    ones it holds. Students already on the roster are counted, not refused.
    """
    duplicates = duplicate_uids(entries)
    if duplicates:
        raise InvalidRosterFile(duplicates)
    view = find_module(session, instance_id=instance_id, module=module)
    group_id = roster_group_id(view, "guests" if guests else "roster")
    uids = [e.student.uid for e in entries]
    ids = student_ids_by_uid(
        session,
        instance_id=instance_id,
        uids=uids,
        on_progress=None if on_progress is None else partial(on_progress, "looking up students"),
    )
    new = [e for e in entries if e.student.uid not in ids]
    if new and not create_missing:
        raise InvalidRosterFile(
            [
                RowProblem(e.line, "uid", "not_found", f"no student {e.student.uid!r} in this instance")
                for e in new
            ]
        )
    ids = upsert_students(
        session,
        instance_id=instance_id,
        students=[{**e.student.model_dump(), "attributes": dict(e.attributes)} for e in entries],
        known=ids,
        on_progress=None if on_progress is None else partial(on_progress, "creating students"),
    )
    added = 0
    stage = "adding to the guest group" if guests else "adding to the roster"
    for start in range(0, len(uids), LOOKUP_CHUNK):
        chunk = uids[start : start + LOOKUP_CHUNK]
        added += len(
            add_to_roster_group(
                session,
                module=view.module,
                group_id=group_id,
                guests=guests,
                student_ids=[ids[u] for u in chunk],
                checked=True,  # looked up or made just above
            ).added
        )
        if on_progress is not None:
            on_progress(stage, start + len(chunk), len(uids))
    session.flush()
    return RosterImport(
        module_code=view.module.code,
        guests=guests,
        rows=len(entries),
        created=len(new),
        already=len(entries) - added,
        total=member_count(session, instance_id=instance_id, group_id=group_id),
    )
