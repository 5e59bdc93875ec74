"""Wire shapes of self-enrolment on the management surface (integer ids, snake_case).

The LumiNUS surface's shapes, camelCase, are in `luminus.schemas`.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import BaseModel, Field, field_validator

from studentgroups.grouping.random import MAX_SEED
from studentgroups.wire import DomoscioTimestamp, Id, JsonBody


class EnrolmentGroupOut(BaseModel):
    """A group that takes self-enrolment, as one learner sees it now."""

    id: int = Field(description="The group's id.")
    uuid: UUID = Field(description="The group's LumiNUS id.")
    name: str = Field(description="The group's name.")
    parent_group_id: int | None = Field(description="Its parent group; null: a root class group.")
    max_user: int = Field(description="At most this many members; 0 = no limit.")
    self_enrol_open_date: DomoscioTimestamp | None = Field(description="The window opens (UTC); null: open.")
    self_enrol_close_date: DomoscioTimestamp | None = Field(
        description="The window closes (UTC); null: never."
    )
    waitlist: bool = Field(description="Whether a learner who finds it full may queue.")
    member_count: int = Field(description="Its members now.")
    waiting_count: int = Field(description="How many learners wait for a seat.")
    state: Literal["open", "full", "notOpen", "closed"] = Field(
        description="`open`: a seat is free in an open window; `full`; `notOpen`: opens later; `closed`."
    )
    is_member: bool = Field(description="Whether the student is in it.")
    queue_position: int | None = Field(description="Where the student stands in its queue (1 = next).")


class JoinIn(JsonBody):
    """POST /modules/{id}/enrolment/groups/{group_id}: a seat, or a place in the queue."""

    student_id: Id | None = Field(
        default=None, description="The student: required unless the key is the student's own."
    )
    switch: bool = Field(
        default=False, description="Leave the student's group under the same parent for this one."
    )
    queue: bool = Field(default=False, description="When full and it has a waiting list, queue for a seat.")


class EnrolmentOut(BaseModel):
    """What a join or a leave did."""

    status: Literal["joined", "queued", "alreadyMember", "alreadyQueued", "left", "leftQueue"] = Field(
        description="A seat taken, a place in the queue, nothing new, or a seat or place given up."
    )
    group_id: int = Field(description="The group.")
    member_count: int = Field(description="Its members now.")
    max_user: int = Field(description="Its limit (0 = none).")
    queue_position: int | None = Field(description="Where the student stands in the queue, when queued.")
    left_group_id: int | None = Field(description="With `switch`: the group the student left.")


class LastAllocationOut(BaseModel):
    """The last allocation at the window's close."""

    at: DomoscioTimestamp = Field(description="When it ran (UTC).")
    formation_id: int | None = Field(description="Its id in the formation history.")
    unplaced_student_ids: list[int] = Field(description="The students no group had room for.")
    error: str | None = Field(description="Why it could not run, if it could not.")


class PolicyOut(BaseModel):
    """How the groups under a parent take learners."""

    module_id: int = Field(description="The module.")
    parent_group_id: int | None = Field(description="The parent; null: the module's root class groups.")
    allow_multiple: bool = Field(description="Whether a student may be in several of the groups.")
    admit_guests: bool = Field(description="Whether the module's guests may enrol.")
    allocate_after_close: bool = Field(description="At the close, place every student still without a group.")
    place_late_enrollees: bool = Field(description="Place students newly added to the roster at once.")
    closes_at: DomoscioTimestamp | None = Field(description="When the window closes; null: never.")
    last_allocation: LastAllocationOut | None = Field(description="The last allocation at the close.")


class PolicyIn(JsonBody):
    """PUT /modules/{id}/enrolment/policy: the fields sent change, and only those."""

    parent_group_id: Id | None = Field(default=None, description="The parent; absent: the module's root.")
    allow_multiple: bool | None = Field(
        default=None,
        description="A student may be in several of the parent's sub-groups (a parent group only).",
    )
    admit_guests: bool | None = Field(default=None, description="Guests may enrol.")
    allocate_after_close: bool | None = Field(
        default=None,
        description="Place the students still without a group at the close (true arms it again).",
    )
    place_late_enrollees: bool | None = Field(
        default=None, description="Place students newly added to the roster."
    )

    @field_validator("allow_multiple", "admit_guests", "allocate_after_close", "place_late_enrollees")
    @classmethod
    def _not_null(cls, value: bool | None) -> bool:
        if value is None:
            raise ValueError("may not be null")
        return value


class AllocateIn(JsonBody):
    """POST /modules/{id}/enrolment/allocate: what the close does, now."""

    parent_group_id: Id | None = Field(default=None, description="The parent; absent: the module's root.")
    save: bool = Field(default=False, description="False: a preview; true: save it.")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="The shuffle's seed.")


class AllocatedGroupOut(BaseModel):
    """A group under the parent and all its members."""

    id: int | None = Field(description="The group's id.")
    name: str = Field(description="Its name.")
    student_ids: list[int] = Field(description="All its members.")


class AllocationOut(BaseModel):
    """What an allocation did (or would do)."""

    groups: list[AllocatedGroupOut] = Field(description="Every class group under the parent.")
    placed_student_ids: list[int] = Field(description="The students placed now.")
    unplaced_student_ids: list[int] = Field(description="The students no group had room for.")
    seed: int = Field(description="The seed used.")
    saved: bool = Field(description="Whether it was saved.")
    formation_id: int | None = Field(description="Once saved: its id in the history.")
