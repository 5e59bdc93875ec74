"""Wire shapes of results and of the figures they make per group (Domoscio surface, snake_case)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, Field, ValidationInfo, WithJsonSchema, field_validator

from studentgroups.wire import DomoscioTimestamp, Id, JsonBody, Name

MAX_RESULTS_PER_CALL = 10_000
DEFAULT_THRESHOLD = 0.5
HISTOGRAM_BINS = 10

Score = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=1e12)]


def as_utc(value: datetime) -> datetime:
    """A time without a zone is UTC (as every Domoscio timestamp); one with a zone is converted."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


WireTime = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "description": "`YYYY-MM-DD HH:MM:SS` (UTC, as Domoscio writes it) or ISO 8601; without a "
            "time zone, UTC.",
            "examples": ["2014-09-17 09:21:03", "2014-09-17T11:21:03+02:00"],
        }
    ),
]
"""A time as clients send it: the Domoscio form or ISO 8601 (pydantic reads both natively)."""


class ResultIn(JsonBody):
    """One result: a student's outcome on an item. Name the student by `student_id` or by `uid`."""

    student_id: Id | None = Field(default=None, description="The student's id (or give `uid`).")
    uid: Name | None = Field(
        default=None,
        validate_default=True,
        description="The platform's own id of the student (or `student_id`).",
    )
    item: Name = Field(description="What was assessed: a knowledge node, a quiz, an assessment.")
    max_score: Score = Field(default=1.0, gt=0, description="The best possible score (> 0); 1 by default.")
    score: Score = Field(description="The score, from 0 to `max_score`.")
    recorded_at: WireTime | None = Field(
        default=None,
        description="When it was obtained: `YYYY-MM-DD HH:MM:SS` (UTC) or ISO 8601 (stored in UTC); "
        "now by default.",
    )

    @field_validator("uid")
    @classmethod
    def _one_student(cls, uid: str | None, info: ValidationInfo) -> str | None:
        if (info.data.get("student_id") is None) == (uid is None):
            raise ValueError("name the student by exactly one of student_id and uid")
        return uid

    @field_validator("score")
    @classmethod
    def _not_above_max_score(cls, score: float, info: ValidationInfo) -> float:
        max_score = info.data.get("max_score")
        if max_score is not None and score > max_score:
            raise ValueError(f"{score} is above max_score {max_score}")
        return score


class ResultOut(BaseModel):
    """A stored result."""

    id: int = Field(description="The result's id.")
    student_id: int = Field(description="The student's id.")
    uid: str = Field(description="The platform's own id of the student.")
    item: str = Field(description="What was assessed.")
    score: float = Field(description="The score.")
    max_score: float = Field(description="The best possible score.")
    recorded_at: DomoscioTimestamp = Field(description="When it was obtained (UTC).")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")


class ResultsCreated(BaseModel):
    """What a batch wrote: all of it, or (on any error) nothing."""

    created: int = Field(description="How many results were stored.")


class ItemFigures(BaseModel):
    """The figures of one item over the group's members' results."""

    item: str = Field(description="The item.")
    result_count: int = Field(description="How many results.")
    mean_score: float = Field(description="Mean normalised score (score / max_score).")
    success_rate: float = Field(description="Share of results whose normalised score is ≥ the threshold.")


class GroupFigures(BaseModel):
    """How a group is doing: its members' results, summed up.

    The score figures are over the results' normalised scores (score / max_score, from 0 to 1),
    each result counting once; the histogram is over the members' own mean scores. Figures of
    a group with no results are null (counts are 0).
    """

    member_count: int = Field(description="How many members the group has.")
    members_with_results: int = Field(description="How many of them have a result that matches the filters.")
    result_count: int = Field(description="How many results match.")
    mean_score: float | None = Field(description="Mean normalised score.")
    median_score: float | None = Field(description="Median normalised score (interpolated).")
    p25_score: float | None = Field(description="25th percentile of the normalised scores (interpolated).")
    p75_score: float | None = Field(description="75th percentile of the normalised scores (interpolated).")
    min_score: float | None = Field(description="Lowest normalised score.")
    max_score: float | None = Field(description="Highest normalised score.")
    sd_score: float | None = Field(description="Standard deviation of the normalised scores (population).")
    success_rate: float | None = Field(
        description="Share of results whose normalised score is ≥ the threshold."
    )
    histogram: list[int] = Field(
        description=f"Members by their mean score, in {HISTOGRAM_BINS} bins of 0.1 from 0 to 1 "
        "(the last one holds 1.0); members without results are not in it."
    )
    items: list[ItemFigures] = Field(description="The figures of each item, by item.")


class GroupResults(GroupFigures):
    """A group's figures, with the group and the filters they answer."""

    student_group_id: int = Field(description="The group.")
    name: str = Field(description="The group's name.")
    threshold: float = Field(description="The success threshold used.")
    include_subgroups: bool = Field(description="Whether the members of its sub-groups count.")


class NamedGroupFigures(GroupFigures):
    """One group's figures, beside its siblings'."""

    student_group_id: int = Field(description="The group.")
    name: str = Field(description="The group's name.")


class ClusterResults(BaseModel):
    """A cluster's groups side by side, and the cluster as a whole (each student counted once)."""

    student_cluster_id: int = Field(description="The cluster.")
    name: str = Field(description="The cluster's name.")
    threshold: float = Field(description="The success threshold used.")
    include_subgroups: bool = Field(description="Whether the members of sub-groups count.")
    whole: GroupFigures = Field(description="The cluster as a whole: the members of all its groups.")
    groups: list[NamedGroupFigures] = Field(description="Each group of the cluster, by id.")
