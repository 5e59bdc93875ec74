"""LumiNUS wire shapes: camelCase exactly as documented, UUIDs, ISO 8601 UTC timestamps."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from studentgroups.formations.schemas import (
    MINORITY_SHARE_DESCRIPTION,
    OBJECTIVE_DESCRIPTION,
    PROTECTED_DESCRIPTION,
    SECTIONS_DESCRIPTION,
    AttributeName,
    CategoricalQualityOut,
    NumericQualityOut,
    Objective,
    ProtectedValues,
    QualityReportOut,
    check_protected,
)
from studentgroups.grouping.model import DEFAULT_MINORITY_SHARE
from studentgroups.grouping.random import MAX_SEED
from studentgroups.tables.group_types import ACCESS_DESCRIPTION, GroupAccess, GroupType
from studentgroups.wire import Echoed, FreeText, JsonBody, Name, aware_utc

MAX_CLASS_GROUPS_PER_CALL = 100
MAX_USERS_PER_CALL = 10_000


def _empty_is_root(value: Any) -> Any:
    # The document: "Parent Group ID. If empty, means it is the root level."
    return None if value == "" else value


ParentGroupId = Annotated[
    uuid.UUID | None,
    BeforeValidator(_empty_is_root),
    Field(
        default=None,
        alias="parentGroupID",
        description="Parent group; empty or absent: the module's root level.",
    ),
]


class LumiNUSModel(BaseModel):
    """camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


CAMEL_CASE = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)
"""A schema of the services', shown on the LumiNUS surface: every name in camelCase."""


class LumiNUSBody(JsonBody):
    """A request body on the LumiNUS surface: camelCase names only, strict JSON types."""

    model_config = ConfigDict(validate_by_name=False, validate_by_alias=True, serialize_by_alias=True)


class GroupModel(LumiNUSModel):
    """The documented base group model."""

    id: uuid.UUID = Field(description="Group id.")
    group_name: str = Field(alias="groupName", description="Group name.")
    group_type: GroupType = Field(alias="groupType", description="Types of groups.")
    group_type_name: str = Field(alias="groupTypeName", description="Display name of the group type.")
    creator_id: uuid.UUID | None = Field(
        alias="creatorID", description="Creator of the group (the key's user)."
    )
    resource_id: uuid.UUID | None = Field(alias="resourceID", description="Module ID.")
    parent_group_id: uuid.UUID | None = Field(
        alias="parentGroupID", description="Parent group, for sub-groups of class groups."
    )
    group_access: GroupAccess = Field(alias="groupAccess", description=ACCESS_DESCRIPTION)


class ClassGroupModel(GroupModel):
    """A class group: the base model with its self-enrolment settings."""

    description: str | None = Field(description="Free text.")
    self_enrol: bool = Field(alias="selfEnrol", description="Students may enrol themselves.")
    max_user: int = Field(alias="maxUser", description="At most this many members; 0 = no limit.")
    self_enrol_open_date: datetime | None = Field(
        alias="selfEnrolOpenDate", description="Self-enrolment opens (UTC)."
    )
    self_enrol_close_date: datetime | None = Field(
        alias="selfEnrolCloseDate", description="Self-enrolment closes (UTC)."
    )
    member_count: int = Field(alias="memberCount", description="How many members it has.")
    waitlist: bool = Field(
        description="Beyond the document: whether a learner who finds it full may queue for a seat."
    )


class GroupWithMembers(GroupModel):
    """The documented group model with the group's members (Randomise, update users)."""

    members: list[uuid.UUID] = Field(description="The members' user ids.")


class ClassGroupIn(LumiNUSBody):
    """One class group to create."""

    group_name: Name = Field(alias="groupName", description="Group name (≤ 255 characters).")
    description: FreeText | None = Field(default=None, description="Free text.")
    self_enrol: bool = Field(default=False, alias="selfEnrol", description="Students may enrol themselves.")
    max_user: int = Field(default=0, ge=0, le=1_000_000, alias="maxUser", description="0 = no limit.")
    self_enrol_open_date: datetime | None = Field(
        default=None, alias="selfEnrolOpenDate", description="ISO 8601."
    )
    self_enrol_close_date: datetime | None = Field(
        default=None, alias="selfEnrolCloseDate", description="ISO 8601."
    )
    group_access: GroupAccess = Field(
        default=GroupAccess.MEMBERS_VIEW, alias="groupAccess", description=ACCESS_DESCRIPTION
    )

    waitlist: bool = Field(
        default=False,
        description="Beyond the document: a learner who finds the group full may queue; a freed seat "
        "goes to the first in the queue.",
    )

    @model_validator(mode="after")
    def _window_in_order(self) -> ClassGroupIn:
        _window_in_utc(self)
        opens, closes = self.self_enrol_open_date, self.self_enrol_close_date
        if opens is not None and closes is not None and opens >= closes:
            raise ValueError("selfEnrolOpenDate must be before selfEnrolCloseDate")
        return self


def _window_in_utc(model: BaseModel) -> None:
    """The window's dates in UTC; a date without a time zone is refused, never guessed."""
    for name in ("self_enrol_open_date", "self_enrol_close_date"):
        value = getattr(model, name)
        if value is None:
            continue  # setting it would mark it as sent
        try:
            setattr(model, name, aware_utc(value))
        except ValueError as error:
            raise ValueError(f"{name}: {error}") from None


class AddClassGroupsRequest(LumiNUSBody):
    """Add class group(s) to a module, or sub-groups under a class group."""

    resource_id: uuid.UUID = Field(alias="resourceID", description="Module ID.")
    parent_group_id: ParentGroupId
    class_group: list[ClassGroupIn] = Field(
        alias="classGroup",
        min_length=1,
        max_length=MAX_CLASS_GROUPS_PER_CALL,
        description=f"1 to {MAX_CLASS_GROUPS_PER_CALL} groups.",
    )


class GroupUsers(LumiNUSBody):
    """One group and its users."""

    key: uuid.UUID = Field(description="Group id.")
    value: list[uuid.UUID] = Field(
        max_length=MAX_USERS_PER_CALL, description="The users who should be its members."
    )


class UpdateGroupsUsersRequest(LumiNUSBody):
    """Update groups' users: each group's members become exactly the users given."""

    ids_user_guids: list[GroupUsers] = Field(
        alias="iDs_UserGuids",
        min_length=1,
        max_length=MAX_CLASS_GROUPS_PER_CALL,
        description="Groups (sub-groups of one parent, or root class groups of one module) and their users.",
    )
    allow_multiple: bool = Field(
        default=False,
        alias="allowMultiple",
        description="False: a user may be in only one of these sibling groups.",
    )


UserSet = Annotated[list[uuid.UUID], Field(min_length=2, max_length=1_000)]


class PinnedUser(LumiNUSBody):
    """A user who must be in a given class group."""

    user_id: uuid.UUID = Field(alias="userID", description="The user.")
    group_id: uuid.UUID = Field(alias="groupID", description="One of the class groups randomised into.")


class NumericQualityModel(NumericQualityOut):
    """How alike the groups are on one number, and how much more than seeded random they are."""

    model_config = CAMEL_CASE


class CategoricalQualityModel(CategoricalQualityOut):
    """How evenly one category is spread."""

    model_config = CAMEL_CASE


class QualityModel(QualityReportOut):
    """What a formation achieved."""

    model_config = CAMEL_CASE

    numeric: Sequence[NumericQualityModel] = Field(description="Per numeric attribute.")
    categorical: Sequence[CategoricalQualityModel] = Field(description="Per categorical attribute.")


class RandomiseRequest(LumiNUSBody):
    """HTTP Post Input class when randomise users to groups."""

    parent_group_id: ParentGroupId
    resource_id: uuid.UUID = Field(alias="resourceID", description="Module ID.")
    to_update: bool = Field(
        default=False,
        alias="toUpdate",
        description="False to randomise only without saving it. True to randomise and save.",
    )
    exclude_guest_student: bool = Field(
        default=False,
        alias="excludeGuestStudent",
        description="True to exclude students from the module's guest groups.",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="Beyond the document: the shuffle's seed. The answer's X-Randomise-Seed header gives the "
        "seed used; saving with it on an unchanged roster reproduces that preview exactly.",
    )
    strategy: Literal["random", "balanced"] = Field(
        default="random",
        description="Beyond the document: `random` (the documented seeded shuffle, sizes within one) or "
        "`balanced` (group means and spreads of `numericAttributes` alike, `categoricalAttributes` "
        "spread evenly).",
    )
    numeric_attributes: Annotated[list[AttributeName], Field(max_length=20)] = Field(
        default_factory=list,
        alias="numericAttributes",
        description="Beyond the document: numbers to balance.",
    )
    categorical_attributes: Annotated[list[AttributeName], Field(max_length=20)] = Field(
        default_factory=list,
        alias="categoricalAttributes",
        description="Beyond the document: categories to spread evenly.",
    )
    no_isolation: Annotated[list[AttributeName], Field(max_length=20)] = Field(
        default_factory=list,
        alias="noIsolation",
        description="Beyond the document: categories whose minority values are never alone in a group, "
        "where the numbers allow.",
    )
    protected_values: ProtectedValues = Field(
        default_factory=dict,
        alias="protectedValues",
        description="Beyond the document: "
        + PROTECTED_DESCRIPTION.replace("minority_share", "minorityShare"),
    )
    minority_share: float = Field(
        default=DEFAULT_MINORITY_SHARE,
        gt=0,
        le=1,
        alias="minorityShare",
        description="Beyond the document: "
        + MINORITY_SHARE_DESCRIPTION.replace("protected_values", "protectedValues"),
    )
    objective: Objective | None = Field(
        default=None,
        description="Beyond the document: " + OBJECTIVE_DESCRIPTION,
    )
    sections: AttributeName | None = Field(
        default=None, description="Beyond the document: " + SECTIONS_DESCRIPTION
    )
    keep_together: Annotated[list[UserSet], Field(max_length=10_000)] = Field(
        default_factory=list,
        alias="keepTogether",
        description="Beyond the document: sets of users who must share a group.",
    )
    keep_apart: Annotated[list[UserSet], Field(max_length=10_000)] = Field(
        default_factory=list,
        alias="keepApart",
        description="Beyond the document: sets of users who must all be in different groups.",
    )
    pinned: Annotated[list[PinnedUser], Field(max_length=10_000)] = Field(
        default_factory=list, description="Beyond the document: users who must be in a given class group."
    )
    top_up: bool = Field(
        default=False,
        alias="topUp",
        description="Beyond the document: place only the users in none of these groups yet, filling the "
        "smallest first, never above `maxUser`; the others stay.",
    )
    report: bool = Field(
        default=False,
        description="Beyond the document: answer a `RandomiseReport` (the groups, every student no group "
        "had room for, the seed, the strategy, the quality report, the formation's id once saved) "
        "instead of the documented array of groups.",
    )

    @field_validator("protected_values")
    @classmethod
    def _protected_are_no_isolation(
        cls, value: dict[str, list[str]], info: ValidationInfo
    ) -> dict[str, list[str]]:
        return check_protected(value, info.data.get("no_isolation", []), "noIsolation")


class Envelope(LumiNUSModel):
    """The documented list envelope, around a page of `data`."""

    status: Literal["success"] = Field(description="Always `success` on 200.")
    code: Literal[200] = Field(description="The HTTP status.")
    total: int = Field(description="How many items match, without paging.")
    offset: int = Field(description="The offset asked for.")


class RandomiseReport(LumiNUSModel):
    """Beyond the document, with `report: true`: the groups and what Randomise did."""

    groups: list[GroupWithMembers] = Field(description="The groups modified, each with its members.")
    unplaced: list[uuid.UUID] = Field(
        description="Every student of the pool no group had room for (`maxUser`); never dropped silently."
    )
    seed: int = Field(description="The seed used: send it back to reproduce this grouping.")
    strategy: Literal["random", "balanced"] = Field(description="How the groups were formed.")
    saved: bool = Field(description="Whether the grouping was saved (`toUpdate`).")
    quality: QualityModel = Field(description="The quality report, beside seeded random.")
    formation_id: int | None = Field(
        alias="formationID",
        description="Once saved: its id in the history (`POST /formations/{id}/revert` undoes it).",
    )


class ListEnvelope(Envelope):
    """A page of a module's groups, in the documented envelope."""

    data: list[ClassGroupModel] = Field(description="The page of groups.")


class FoundStudent(LumiNUSModel):
    """A student of the module, with the groups it is in at the level searched."""

    user_id: uuid.UUID = Field(
        alias="userID", description="The student's user id, as Randomise and update users take it."
    )
    uid: str | None = Field(
        description="The platform's own id of the student (null to a learner, but for its own row)."
    )
    name: str | None = Field(description="The student's name (null to read-only keys).")
    groups: list[GroupModel] = Field(
        description="Its groups at the level searched (of the type asked); empty for group type -1."
    )


class SearchEnvelope(Envelope):
    """A page of a module's students and their groups, in the documented envelope."""

    data: list[FoundStudent] = Field(description="The page of students, by uid.")


class ItemFiguresModel(LumiNUSModel):
    """One item's figures over the group's members' results."""

    item: str = Field(description="The item (knowledge node, quiz, assessment).")
    result_count: int = Field(alias="resultCount", description="How many results.")
    mean_score: float = Field(alias="meanScore", description="Mean normalised score (score / maxScore).")
    success_rate: float = Field(
        alias="successRate", description="Share of results whose normalised score is at least the threshold."
    )


class FiguresModel(LumiNUSModel):
    """How a group is doing (the same figures as `GroupFigures` on the Domoscio surface).

    Score figures are over the results' normalised scores, each result counting once; the
    histogram is over the members' own mean scores. With no result, the score figures are null.
    """

    member_count: int = Field(alias="memberCount", description="How many members.")
    members_with_results: int = Field(
        alias="membersWithResults", description="Members with a matching result."
    )
    result_count: int = Field(alias="resultCount", description="How many results match.")
    mean_score: float | None = Field(alias="meanScore", description="Mean normalised score.")
    median_score: float | None = Field(alias="medianScore", description="Median normalised score.")
    p25_score: float | None = Field(alias="p25Score", description="25th percentile (interpolated).")
    p75_score: float | None = Field(alias="p75Score", description="75th percentile (interpolated).")
    min_score: float | None = Field(alias="minScore", description="Lowest normalised score.")
    max_score: float | None = Field(alias="maxScore", description="Highest normalised score.")
    sd_score: float | None = Field(alias="sdScore", description="Standard deviation (population).")
    success_rate: float | None = Field(
        alias="successRate", description="Share of results at or above the threshold."
    )
    histogram: list[int] = Field(description="Members by mean score, 10 bins of 0.1 from 0 to 1.")
    items: list[ItemFiguresModel] = Field(description="Each item's figures, by item.")


class GroupResultsModel(GroupModel, FiguresModel):
    """A group (the documented base model) with its figures."""

    threshold: float = Field(description="The success threshold used.")
    include_subgroups: bool = Field(
        alias="includeSubgroups", description="Whether sub-groups' members count."
    )


class ComparedGroupsModel(LumiNUSModel):
    """The class groups under a parent side by side, and all their members together."""

    resource_id: uuid.UUID = Field(alias="resourceID", description="Module ID.")
    parent_group_id: uuid.UUID | None = Field(
        alias="parentGroupID", description="The parent; null: the root."
    )
    threshold: float = Field(description="The success threshold used.")
    whole: FiguresModel = Field(description="All the groups' members together (each counted once).")
    groups: list[GroupResultsModel] = Field(description="Each class group, in the order they were made.")


# Self-enrolment ------------------------------------------------------------------------------------


class UpdateClassGroupRequest(LumiNUSBody):
    """Beyond the document: change a module group's fields sent, and only those. The class
    group model's read-only fields may be sent back as read; they are ignored."""

    id: Echoed
    group_type: Annotated[Echoed, Field(alias="groupType")]
    group_type_name: Annotated[Echoed, Field(alias="groupTypeName")]
    creator_id: Annotated[Echoed, Field(alias="creatorID")]
    resource_id: Annotated[Echoed, Field(alias="resourceID")]
    parent_group_id: Annotated[Echoed, Field(alias="parentGroupID")]
    member_count: Annotated[Echoed, Field(alias="memberCount")]
    waiting_count: Annotated[Echoed, Field(alias="waitingCount")]

    group_name: Name | None = Field(default=None, alias="groupName", description="Group name.")
    description: FreeText | None = Field(default=None, description="Free text.")
    self_enrol: bool | None = Field(
        default=None, alias="selfEnrol", description="Students may enrol themselves."
    )
    max_user: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        alias="maxUser",
        description="0 = no limit; raised: the queue moves up.",
    )
    self_enrol_open_date: datetime | None = Field(
        default=None, alias="selfEnrolOpenDate", description="ISO 8601, with a time zone."
    )
    self_enrol_close_date: datetime | None = Field(
        default=None, alias="selfEnrolCloseDate", description="ISO 8601, with a time zone."
    )
    group_access: GroupAccess | None = Field(
        default=None, alias="groupAccess", description=ACCESS_DESCRIPTION
    )
    waitlist: bool | None = Field(
        default=None, description="A waiting list for the full group (off: nobody new joins the queue)."
    )

    @model_validator(mode="after")
    def _utc(self) -> UpdateClassGroupRequest:
        _window_in_utc(self)
        for name in ("group_name", "self_enrol", "max_user", "group_access", "waitlist"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{type(self).model_fields[name].alias}: may not be null")
        return self


class SelfEnrolGroupModel(ClassGroupModel):
    """A group open to self-enrolment, as one learner sees it now."""

    waiting_count: int = Field(alias="waitingCount", description="How many learners wait for a seat.")
    state: Literal["open", "full", "notOpen", "closed"] = Field(
        description="`open`: the window is open and a seat is free; `full`: open, no seat; "
        "`notOpen`: the window opens later; `closed`: it has closed."
    )
    is_member: bool = Field(alias="isMember", description="Whether the learner is in it.")
    queue_position: int | None = Field(
        alias="queuePosition", description="Where the learner stands in its queue (1 = next), if queued."
    )


class SelfEnrolEnvelope(Envelope):
    """The groups under a parent that take self-enrolment, in the documented envelope."""

    data: list[SelfEnrolGroupModel] = Field(description="The groups, in the order they were made.")


class JoinRequest(LumiNUSBody):
    """Join a group for a learner (or queue for it)."""

    user_id: uuid.UUID | None = Field(
        default=None,
        alias="userID",
        description="The learner: required with a platform's key; a learner's own key acts for itself.",
    )
    switch: bool = Field(
        default=False,
        description="Leave the learner's group under the same parent for this one, in one step.",
    )
    queue: bool = Field(
        default=False, description="When the group is full and has a waiting list, queue for a seat."
    )


class EnrolmentModel(LumiNUSModel):
    """What a join or a leave did."""

    status: Literal["joined", "queued", "alreadyMember", "alreadyQueued", "left", "leftQueue"] = Field(
        description="What happened: a seat taken, a place in the queue, nothing new, a seat or a "
        "place in the queue given up."
    )
    group_id: uuid.UUID = Field(alias="groupID", description="The group.")
    member_count: int = Field(alias="memberCount", description="Its members now.")
    max_user: int = Field(alias="maxUser", description="Its limit (0 = none).")
    queue_position: int | None = Field(
        alias="queuePosition", description="Where the learner stands in the queue (1 = next), when queued."
    )
    left_group_id: uuid.UUID | None = Field(
        alias="leftGroupID", description="With `switch`: the group the learner left."
    )


class LastAllocationModel(LumiNUSModel):
    """The last allocation at the window's close."""

    at: datetime = Field(description="When it ran (UTC).")
    formation_id: int | None = Field(
        alias="formationID", description="Its id in the formation history (`POST /formations/{id}/revert`)."
    )
    unplaced: list[uuid.UUID] = Field(description="The students no group had room for.")
    error: str | None = Field(description="Why it could not run, if it could not.")


class SelfEnrolPolicyModel(LumiNUSModel):
    """How the groups under a parent take learners, beyond each group's own window and limit."""

    resource_id: uuid.UUID = Field(alias="resourceID", description="Module ID.")
    parent_group_id: uuid.UUID | None = Field(
        alias="parentGroupID", description="The parent; null: the root."
    )
    allow_multiple: bool = Field(
        alias="allowMultiple", description="Whether a learner may be in several of the groups (the parent's)."
    )
    admit_guests: bool = Field(alias="admitGuests", description="Whether the module's guests may enrol.")
    allocate_after_close: bool = Field(
        alias="allocateAfterClose",
        description="At the window's close, place every student still without a group (top-up).",
    )
    place_late_enrollees: bool = Field(
        alias="placeLateEnrollees",
        description="Place each student newly added to the roster into the smallest group with room.",
    )
    closes_at: datetime | None = Field(
        alias="closesAt",
        description="When the window closes: the last close date of the self-enrol groups (null: never).",
    )
    last_allocation: LastAllocationModel | None = Field(
        alias="lastAllocation", description="The last allocation at the close, once it ran."
    )


class SelfEnrolPolicyRequest(LumiNUSBody):
    """Set the policy of the groups under a parent: the fields sent, and only those."""

    resource_id: uuid.UUID = Field(alias="resourceID", description="Module ID.")
    parent_group_id: ParentGroupId
    allow_multiple: bool | None = Field(
        default=None,
        alias="allowMultiple",
        description="A learner may be in several of the parent's sub-groups (a parent group only).",
    )
    admit_guests: bool | None = Field(default=None, alias="admitGuests", description="Guests may enrol.")
    allocate_after_close: bool | None = Field(
        default=None,
        alias="allocateAfterClose",
        description="Place the students still without a group at the close (true arms it again).",
    )
    place_late_enrollees: bool | None = Field(
        default=None, alias="placeLateEnrollees", description="Place students newly added to the roster."
    )

    @model_validator(mode="after")
    def _no_nulls(self) -> SelfEnrolPolicyRequest:
        for name in ("allow_multiple", "admit_guests", "allocate_after_close", "place_late_enrollees"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{type(self).model_fields[name].alias}: may not be null")
        return self


class AllocateRequest(LumiNUSBody):
    """Place now every student still without a group under a parent (what the close does)."""

    resource_id: uuid.UUID = Field(alias="resourceID", description="Module ID.")
    parent_group_id: ParentGroupId
    to_update: bool = Field(default=False, alias="toUpdate", description="False: a preview; true: save.")
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED, description="The shuffle's seed.")


class AllocationReport(LumiNUSModel):
    """What an allocation did (or would do)."""

    groups: list[GroupWithMembers] = Field(
        description="Every class group under the parent, with all its members."
    )
    placed: list[uuid.UUID] = Field(description="The students placed now.")
    unplaced: list[uuid.UUID] = Field(
        description="The students no group had room for; never dropped silently."
    )
    seed: int = Field(description="The seed used.")
    saved: bool = Field(description="Whether it was saved (`toUpdate`).")
    formation_id: int | None = Field(alias="formationID", description="Once saved: its id in the history.")
