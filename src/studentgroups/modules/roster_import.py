"""Importing a module's roster (or guests) from a CSV file: check every row first, then write it all.

The file has a header row; `uid` is required and `name`, `sexe`, `date_of_birth`,
`country_of_residence` and `city_of_residence` (the Domoscio profile) are optional. Every bad
row is reported with its line, column and rule, and nothing is written while one is bad. The
write is one unit of work, set-based: students are looked up in chunks, new ones inserted with
multi-row inserts, and all of them put on the roster with the bulk membership writer.
Flushes, never commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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
from studentgroups.students.schemas import Sexe, Uid
from studentgroups.students.service import insert_students
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


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A checked row of the file and the line it starts on."""

    line: int
    student: StudentProfile


class InvalidRosterFile(InvalidCsvFile):
    """The roster file has bad rows; nothing was written."""

    kind = "roster file"


ROSTER_FILE = CsvFormat(
    name="roster", columns=ROSTER_COLUMNS, required=(("uid",),), rows="students", error=InvalidRosterFile
)
"""A roster file: a header row naming `uid` and any of the profile's columns."""


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
    return RosterEntry(line, StudentProfile.model_validate(values))


def parse_roster_csv(text: str, *, on_progress: OnProgress | None = None) -> list[RosterEntry]:
    """Every row of a roster file's text, checked; InvalidRosterFile lists every problem if one is bad.

    Blank lines are skipped, cells are stripped of surrounding spaces, and an empty cell means
    "not given". Line numbers count physical lines, so a quoted cell may span several.
    """
    checked = read_csv(text, ROSTER_FILE, _roster_entry, on_progress=on_progress)
    problems = [*checked.problems, *duplicate_uids(checked.entries)]
    if problems:
        raise InvalidRosterFile(problems)
    return checked.entries


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


def create_students(
    session: Session,
    *,
    instance_id: int,
    students: Sequence[StudentProfile],
    on_progress: OnProgress | None = None,
) -> dict[str, int]:
    """Insert new students (uids not taken, each once) with their profiles; uid -> new id."""
    return insert_students(
        session,
        instance_id=instance_id,
        students=[student.model_dump() for student in students],
        on_progress=None if on_progress is None else partial(on_progress, "creating students"),
    )


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
    students are left as they are. Students already on the roster are counted, not refused.
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
    ids.update(
        create_students(
            session,
            instance_id=instance_id,
            students=[e.student for e in new],
            on_progress=on_progress,
        )
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
