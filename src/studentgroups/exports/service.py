"""The rows of each export, as one statement read in chunks, and the CSV layouts they are written in.

A roster (a module's roster or guests) is its students, by uid, with their profile and every
attribute any of them holds, one column each: what `studentgroups roster import` reads back.

Results are written as the results import reads them; a group's or a cluster's figures, one row
per group (computed, so exported only).

A grouping is the groups under one parent (a parent group's sub-groups, or a module's root class
groups) with their members: one row per membership, by group name, then uid. Its layouts:
- `own`: `group_id,group,student_id,uid,name`, what `studentgroups grouping import` and the API
  read back;
- `canvas`: `name,user_id,group_name`, Canvas's group category import (`user_id` is the SIS id:
  our uid);
- `moodle`: `username,course1,group1`, Moodle's user upload, which puts each user in the named
  group of the course (`course1` the module's code; groups it lacks it creates).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from sqlalchemy import Select, Text, cast, func, literal, select, true
from sqlalchemy.orm import Session

from studentgroups.siblings import Siblings
from studentgroups.tables.groups import Group, Membership
from studentgroups.tables.modules import Module
from studentgroups.tables.students import Student
from studentgroups.tenancy import get_in_instance, scoped_columns

Layout = Literal["own", "canvas", "moodle"]
LAYOUTS: tuple[Layout, ...] = ("own", "canvas", "moodle")


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """A CSV layout: its header, and each row's cells from the export's row (by column label)."""

    header: Sequence[str]
    cells: Callable[[Mapping[str, Any]], Sequence[Any]]


GROUPING_LAYOUTS: Mapping[Layout, CsvLayout] = {
    "own": CsvLayout(
        ("group_id", "group", "student_id", "uid", "name"),
        lambda r: (r["group_id"], r["group"], r["student_id"], r["uid"], r["name"]),
    ),
    "canvas": CsvLayout(("name", "user_id", "group_name"), lambda r: (r["name"], r["uid"], r["group"])),
    "moodle": CsvLayout(("username", "course1", "group1"), lambda r: (r["uid"], r["course"], r["group"])),
}


def grouping_statement(session: Session, siblings: Siblings[Module | None]) -> Select[Any]:
    """Every membership of the groups under the parent: group, student, and the module's code."""
    instance_id = siblings.instance_id
    course = (
        literal("")
        if siblings.module_id is None
        else literal(get_in_instance(session, Module, siblings.module_id, instance_id, what="module").code)
    )
    return (
        scoped_columns(
            Membership,
            instance_id,
            Group.id.label("group_id"),
            Group.name.label("group"),
            Student.id.label("student_id"),
            Student.uid.label("uid"),
            Student.name.label("name"),
            course.label("course"),
        )
        # A membership's group and student are of its instance (the schema's composite keys):
        # the instance is asked of the memberships alone. Asked of all three, PostgreSQL's plan
        # on tables just loaded (no statistics yet) scanned every student once per group.
        .join(Group, Group.id == Membership.group_id)
        .join(Student, Student.id == Membership.student_id)
        .where(siblings.condition)
        .order_by(Group.name, Group.id, Student.uid)
    )


ROSTER_PROFILE = ("uid", "name", "sexe", "date_of_birth", "country_of_residence", "city_of_residence")
"""A roster export's first columns: what a roster import reads as the profile."""


def attribute_keys(session: Session, *, instance_id: int, group_id: int) -> list[str]:
    """Every attribute name the group's members hold, sorted: the attribute columns of its roster."""
    members = (
        scoped_columns(Membership, instance_id, Student.attributes)
        .join(Student, Student.id == Membership.student_id)
        .where(Membership.group_id == group_id)
        .subquery()
    )
    if session.get_bind().dialect.name == "postgresql":
        keys = select(func.jsonb_object_keys(members.c.attributes).label("key"))
    else:
        each = func.json_each(members.c.attributes).table_valued("key")
        keys = select(each.c.key).select_from(members).join(each, true())
    return sorted(str(k) for k in session.scalars(select(keys.subquery().c.key).distinct()))


def roster_statement(*, instance_id: int, group_id: int) -> Select[Any]:
    """The group's members with their profiles and attributes (as JSON text), by uid."""
    return (
        scoped_columns(
            Membership,
            instance_id,
            Student.uid,
            Student.name,
            Student.sexe,
            cast(Student.date_of_birth, Text).label("date_of_birth"),
            Student.country_of_residence,
            Student.city_of_residence,
            cast(Student.attributes, Text).label("attributes"),
        )
        .join(Student, Student.id == Membership.student_id)
        .where(Membership.group_id == group_id)
        .order_by(Student.uid)
    )


def roster_layout(keys: Sequence[str]) -> CsvLayout:
    """A roster's CSV: the profile, then one column per attribute (numbers written as Python
    writes them, so that a roster import reads back the same number of the same type)."""

    def cells(row: Mapping[str, Any]) -> list[Any]:
        attributes = orjson.loads(row["attributes"] or "{}")
        return [*(row[c] for c in ROSTER_PROFILE), *(_cell(attributes.get(k)) for k in keys)]

    return CsvLayout((*ROSTER_PROFILE, *keys), cells)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return repr(value)
    return "" if value is None else value


RESULTS_LAYOUT = CsvLayout(
    ("uid", "item", "score", "max_score", "recorded_at"),
    lambda r: (r["uid"], r["item"], _cell(r["score"]), _cell(r["max_score"]), r["recorded_at"]),
)
"""Results as `studentgroups results import` reads them (the student by uid, the time in UTC)."""

FIGURE_COLUMNS = (
    "member_count",
    "members_with_results",
    "result_count",
    "mean_score",
    "median_score",
    "p25_score",
    "p75_score",
    "min_score",
    "max_score",
    "sd_score",
    "success_rate",
)
"""A group's figures, one column each (the histogram and the items stay on the JSON answer)."""


def figure_rows(rows: Sequence[tuple[int | str, str, Any]]) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of a figures CSV: for each (group id, name, figures), one row."""
    header = ["student_group_id", "name", *FIGURE_COLUMNS]
    return header, [[key, name, *(_cell(getattr(f, c)) for c in FIGURE_COLUMNS)] for key, name, f in rows]
