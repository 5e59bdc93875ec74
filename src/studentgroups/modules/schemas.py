"""Wire shapes of modules on the management surface (integer ids, snake_case)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator, model_validator

from studentgroups.groups.schemas import MAX_MEMBERS_PER_CALL
from studentgroups.students.schemas import AttributeKey, Attributes, AttributeText, Uid
from studentgroups.tables.group_types import ACCESS_DESCRIPTION, GroupAccess, GroupType
from studentgroups.wire import (
    Changes,
    DomoscioTimestamp,
    Echoed,
    FreeText,
    Id,
    JsonBody,
    Name,
    aware_utc,
    check_name,
)

Code = Annotated[str, StringConstraints(min_length=1, max_length=64), AfterValidator(check_name)]


class ModuleCreate(JsonBody):
    """POST /modules."""

    code: Code = Field(
        description="The module's code, unique in the instance (e.g. `CS1010`).", examples=["CS1010"]
    )
    name: Name = Field(description="The module's title.", examples=["Programming Methodology"])
    description: FreeText | None = Field(default=None, description="Free text.")


class ModuleUpdate(Changes):
    """PUT /modules/{id}: only the fields sent change."""

    uuid: Echoed
    roster_group_id: Echoed
    guest_group_id: Echoed

    code: Code | None = Field(default=None, description="A new code, unique in the instance.")
    name: Name | None = Field(default=None, description="A new title.")
    description: FreeText | None = Field(default=None, description="Free text; null clears it.")

    @field_validator("code", "name")
    @classmethod
    def _not_null(cls, value: str | None) -> str:
        if value is None:
            raise ValueError("may not be null")
        return value


class ModuleOut(BaseModel):
    """A module (the LumiNUS `resourceID` is its `uuid`)."""

    id: int = Field(description="The module's id.")
    uuid: UUID = Field(description="The module's LumiNUS `resourceID`.")
    code: str = Field(description="The module's code.")
    name: str = Field(description="The module's title.")
    description: str | None = Field(description="Free text.")
    roster_group_id: int = Field(description="Its Student Roster group (type 2).")
    guest_group_id: int = Field(description="Its Guest Group (type 10).")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
    updated_at: DomoscioTimestamp = Field(description="When it last changed (UTC).")


class RosterKind(StrEnum):
    """A module's students: its `roster` (Student Roster) or its `guests` (Guest Group)."""

    ROSTER = "roster"
    GUESTS = "guests"


class StudentsByIdOrUid(JsonBody):
    """Students named by `student_ids` or by `uids` (one of the two), 1 to 10,000."""

    student_ids: Annotated[list[Id], Field(min_length=1, max_length=MAX_MEMBERS_PER_CALL)] | None = Field(
        default=None, description="Student ids."
    )
    uids: Annotated[list[Name], Field(min_length=1, max_length=MAX_MEMBERS_PER_CALL)] | None = Field(
        default=None, description="The platform's own ids of the students."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> StudentsByIdOrUid:
        if (self.student_ids is None) == (self.uids is None):
            raise ValueError("send exactly one of student_ids and uids")
        return self


class RosterStudent(JsonBody):
    """A student to put on a roster by uid, with attributes to set (beside those it has); a uid
    the instance lacks is created."""

    uid: Uid
    attributes: Attributes = Field(default_factory=dict)


class StudentsToAdd(StudentsByIdOrUid):
    """Students to add: by `student_ids`, by `uids`, or as `students` with attributes (one of
    the three), 1 to 10,000."""

    students: Annotated[list[RosterStudent], Field(min_length=1, max_length=MAX_MEMBERS_PER_CALL)] | None = (
        Field(
            default=None,
            description="Students by uid with attributes to set (new uids are created): what a roster "
            "file's attribute columns carry, typed as JSON.",
        )
    )
    categories: dict[AttributeKey, Annotated[list[AttributeText], Field(min_length=1)]] | None = Field(
        default=None,
        description='With `students`: attributes that may hold only these values (`{"gender": '
        '["F", "M", "X"]}`); any other value is refused, naming the student.',
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> StudentsToAdd:
        given = [self.student_ids is not None, self.uids is not None, self.students is not None]
        if sum(given) != 1:
            raise ValueError("send exactly one of student_ids, uids and students")
        if self.categories is not None and self.students is None:
            raise ValueError("categories go with students")
        return self


class RosterChange(BaseModel):
    """What a roster or guest change did."""

    changed: int = Field(description="How many students were added (or removed); the others already were.")
    total: int = Field(description="How many students the roster (or guest group) holds now.")


class RosterAdded(RosterChange):
    """What adding students to a roster or guest group did, late enrollees' seats included."""

    placed: int = Field(
        default=0, description="Seats taken at once by newcomers, under parents that place late enrollees."
    )
    unplaced_student_ids: list[int] = Field(
        default_factory=list, description="Newcomers a policy would place but no group had room for."
    )


class StaffChange(JsonBody):
    """Users (by name, created if new) who manage the module's groups."""

    users: Annotated[list[Name], Field(min_length=1, max_length=100)] = Field(description="Users' names.")


class ModuleGroupCreate(JsonBody):
    """POST /modules/{id}/groups: a group of the module, of any documented type but the roster."""

    name: Name = Field(description="The group's name.", examples=["T01"])
    group_type: GroupType = Field(default=GroupType.CLASS_GROUP, description="Its type (see `GroupType`).")
    group_access: GroupAccess = Field(default=GroupAccess.MEMBERS_VIEW, description=ACCESS_DESCRIPTION)
    parent_group_id: Id | None = Field(
        default=None, description="A root class group of the module: the new group is its sub-group."
    )
    description: FreeText | None = Field(default=None, description="Free text.")
    max_user: int = Field(
        default=0, ge=0, le=1_000_000, description="At most this many members; 0 = no limit."
    )
    self_enrol: bool = Field(default=False, description="Students may enrol themselves.")
    self_enrol_open_date: datetime | None = Field(
        default=None, description="Self-enrolment opens (ISO 8601 with a time zone); null: open at once."
    )
    self_enrol_close_date: datetime | None = Field(
        default=None, description="Self-enrolment closes (ISO 8601 with a time zone); null: never."
    )
    waitlist: bool = Field(default=False, description="A learner who finds it full may queue for a seat.")

    _utc = field_validator("self_enrol_open_date", "self_enrol_close_date")(aware_utc)

    @model_validator(mode="after")
    def _window_in_order(self) -> ModuleGroupCreate:
        if self.self_enrol and self.group_type != GroupType.CLASS_GROUP:
            raise ValueError("self_enrol: only class groups take self-enrolment")
        opens, closes = self.self_enrol_open_date, self.self_enrol_close_date
        if opens is not None and closes is not None and opens >= closes:
            raise ValueError("self_enrol_open_date must be before self_enrol_close_date")
        return self


class ModuleGroupUpdate(Changes):
    """PUT /modules/{id}/groups/{group_id}: only the fields sent change."""

    uuid: Echoed
    group_type: Echoed
    group_type_name: Echoed
    module_id: Echoed
    parent_group_id: Echoed

    name: Name | None = Field(default=None, description="A new name.")
    description: FreeText | None = Field(default=None, description="Free text; null clears it.")
    group_access: GroupAccess | None = Field(default=None, description=ACCESS_DESCRIPTION)
    max_user: int | None = Field(
        default=None, ge=0, le=1_000_000, description="0 = no limit; raised, the queue moves up at once."
    )
    self_enrol: bool | None = Field(default=None, description="Students may enrol themselves.")
    self_enrol_open_date: datetime | None = Field(default=None, description="Opens; null: open at once.")
    self_enrol_close_date: datetime | None = Field(default=None, description="Closes; null: never.")
    waitlist: bool | None = Field(default=None, description="Off: nobody new joins the queue.")

    _utc = field_validator("self_enrol_open_date", "self_enrol_close_date")(aware_utc)

    @field_validator("name", "group_access", "max_user", "self_enrol", "waitlist")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class ModuleGroupOut(BaseModel):
    """A group of a module (its `id` is the Domoscio id; its `uuid` the LumiNUS one)."""

    id: int = Field(description="The group's id.")
    uuid: UUID = Field(description="The group's LumiNUS id.")
    name: str = Field(description="The group's name.")
    group_type: GroupType = Field(description="Its type.")
    group_type_name: str = Field(description="Its type's display name (LumiNUS `groupTypeName`).")
    group_access: GroupAccess = Field(description=ACCESS_DESCRIPTION)
    module_id: int = Field(description="Its module.")
    parent_group_id: int | None = Field(description="Its parent group, for a sub-group.")
    description: str | None = Field(description="Free text.")
    max_user: int = Field(description="At most this many members; 0 = no limit.")
    self_enrol: bool = Field(description="Students may enrol themselves.")
    self_enrol_open_date: DomoscioTimestamp | None = Field(description="Self-enrolment opens (UTC).")
    self_enrol_close_date: DomoscioTimestamp | None = Field(description="Self-enrolment closes (UTC).")
    waitlist: bool = Field(description="Whether a learner who finds it full may queue.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
    created_at: DomoscioTimestamp = Field(description="When it was created (UTC).")
