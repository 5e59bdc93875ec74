"""The rows of each export, as one statement read in chunks, and the CSV layouts they are written in.

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

from sqlalchemy import Select, literal
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
        .join(Group, (Group.id == Membership.group_id) & (Group.instance_id == instance_id))
        .join(Student, (Student.id == Membership.student_id) & (Student.instance_id == instance_id))
        .where(siblings.condition)
        .order_by(Group.name, Group.id, Student.uid)
    )
