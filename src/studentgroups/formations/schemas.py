"""Wire shapes of formations on the management surface (integer ids, snake_case)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from studentgroups.grouping.model import DEFAULT_MINORITY_SHARE, MAX_SPREAD_WEIGHT
from studentgroups.grouping.random import MAX_SEED
from studentgroups.wire import DomoscioTimestamp, Id, JsonBody, Name, check_name

MAX_GROUPS_CREATED = 10_000
MAX_CONSTRAINED = 10_000

AttributeName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=300),
    AfterValidator(check_name),
    Field(
        description="A key of the students' `attributes`; for numbers also `results` (the mean "
        "normalised score over all results) or `results:<item>`; for categories also `sexe`, "
        "`country_of_residence`, `city_of_residence`."
    ),
]
StudentSet = Annotated[list[Id], Field(min_length=2, max_length=1_000)]

Objective = (
    Literal["means", "means_and_spreads", "spreads"] | Annotated[float, Field(ge=0, le=MAX_SPREAD_WEIGHT)]
)
OBJECTIVE_DESCRIPTION = (
    "balanced: what counts. `means`: the group means alike, nothing else (with groups of 5, about "
    "a thousandth of random's spread of means; the groups' SDs as random's). `means_and_spreads`: "
    "means and SDs alike with equal weight (anticlust's k-plus; with groups of 5, both about a "
    "fifth to a third of random's). `spreads`: the SDs first (with groups of 5, SDs under a quarter "
    "of random's, means about a third). A number from 0 to 10: the weight of the SDs beside the "
    "means (0 is `means`, 1 `means_and_spreads`, 4 `spreads`). Omitted: 0.1 for groups "
    "under 10 members (with groups of 5: means about 5 % of random's, SDs about half; small "
    "groups cannot have both, docs/benchmarks.md), 0.3 for larger ones (with groups of 20: both "
    "a few thousandths of random's)."
)
SECTIONS_DESCRIPTION = (
    "A category whose values are sections (e.g. `section`, a roster file's column): each group is "
    "drawn from one section, the groups shared among the sections in proportion to their sizes "
    "(each section one at least), and each section formed and balanced on its own, as Canvas's "
    "group by section does. Refused when a rule would cross sections, or groups are fewer than sections."
)
PROTECTED_DESCRIPTION = (
    'noIsolation: the values of each attribute to keep from being alone (e.g. {"gender": ["X"]}); '
    "an attribute not named here protects the values held by fewer than `minority_share` of the members."
)
MINORITY_SHARE_DESCRIPTION = (
    "noIsolation: an attribute without `protected_values` protects its values held by fewer than "
    "this share of the members (never a value at or above it, so never the majority)."
)
ProtectedValues = Annotated[
    dict[
        AttributeName,
        Annotated[list[Annotated[str, StringConstraints(max_length=300)]], Field(max_length=100)],
    ],
    Field(max_length=20),
]


def protected_of(values: dict[str, list[str]]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The protected values as `formations.service.Options` holds them."""
    return tuple((name, tuple(v)) for name, v in sorted(values.items()))


class GroupsToCreateIn(JsonBody):
    """Make new sub-groups to form into, as Moodle and Canvas do: `count` groups, or groups of `size`."""

    count: int | None = Field(default=None, ge=1, le=MAX_GROUPS_CREATED, description="How many groups.")
    size: int | None = Field(default=None, ge=1, le=100_000, description="Members per group.")
    prevent_small_last_group: bool = Field(
        default=False,
        description="With `size`: one group fewer when the last would have under 70% of `size` "
        "(Moodle's rule); its members go to the others.",
    )
    name_pattern: Name = Field(
        default="Group @",
        description="Names: `@` becomes A, B, …, Z, AA, …; `#` becomes 1, 2, …; names already "
        "used under the parent are skipped.",
        examples=["Group @", "Team #"],
    )

    @model_validator(mode="after")
    def _count_or_size(self) -> GroupsToCreateIn:
        if (self.count is None) == (self.size is None):
            raise ValueError("send exactly one of count and size")
        return self


class Pin(JsonBody):
    """A member who must be in a given group."""

    student_id: Id = Field(description="The student.")
    group_id: Id = Field(description="One of the groups formed.")


class FormationIn(JsonBody):
    """How to form the parent's members into its sub-groups (or into new ones)."""

    strategy: Literal["random", "balanced"] = Field(
        default="random",
        description="`random`: a seeded shuffle, sizes within one. `balanced`: group means and spreads "
        "of the `numeric` attributes alike, `categorical` ones spread evenly.",
    )
    seed: int | None = Field(
        default=None,
        ge=0,
        le=MAX_SEED,
        description="The same seed on the same members gives the same groups.",
    )
    numeric: Annotated[list[AttributeName], Field(max_length=20)] = Field(
        default_factory=list, description="Numbers to balance (means and spreads)."
    )
    categorical: Annotated[list[AttributeName], Field(max_length=20)] = Field(
        default_factory=list, description="Categories to spread evenly."
    )
    no_isolation: Annotated[list[AttributeName], Field(max_length=20)] = Field(
        default_factory=list,
        description="Categories whose minority values are never alone in a group, where the numbers allow.",
    )
    protected_values: ProtectedValues = Field(default_factory=dict, description=PROTECTED_DESCRIPTION)
    minority_share: float = Field(
        default=DEFAULT_MINORITY_SHARE, gt=0, le=1, description=MINORITY_SHARE_DESCRIPTION
    )
    objective: Objective | None = Field(default=None, description=OBJECTIVE_DESCRIPTION)
    sections: AttributeName | None = Field(default=None, description=SECTIONS_DESCRIPTION)
    keep_together: Annotated[list[StudentSet], Field(max_length=MAX_CONSTRAINED)] = Field(
        default_factory=list, description="Sets of students who must share a group."
    )
    keep_apart: Annotated[list[StudentSet], Field(max_length=MAX_CONSTRAINED)] = Field(
        default_factory=list, description="Sets of students who must all be in different groups."
    )
    pinned: Annotated[list[Pin], Field(max_length=MAX_CONSTRAINED)] = Field(
        default_factory=list, description="Students who must be in a given group."
    )
    create: GroupsToCreateIn | None = Field(
        default=None, description="Make new sub-groups and form the members into them only."
    )
    top_up: bool = Field(
        default=False,
        description="Place only the members in no sub-group yet, filling the smallest groups first, "
        "never above `max_user`; the others stay where they are.",
    )
    save: bool = Field(
        default=False, description="False: a preview that changes nothing. True: save it (and record it)."
    )

    @model_validator(mode="after")
    def _create_or_top_up(self) -> FormationIn:
        if self.create is not None and self.top_up:
            raise ValueError("top_up fills the existing groups; it cannot go with create")
        return self

    @field_validator("protected_values")
    @classmethod
    def _protected_are_no_isolation(
        cls, value: dict[str, list[str]], info: ValidationInfo
    ) -> dict[str, list[str]]:
        return check_protected(value, info.data.get("no_isolation", []), "no_isolation")


def check_protected(
    protected: dict[str, list[str]], no_isolation: Sequence[str], name: str
) -> dict[str, list[str]]:
    """Protected values name noIsolation attributes only (`name`: the surface's name of that field)."""
    others = sorted(set(protected) - set(no_isolation))
    if others:
        raise ValueError(f"names {others[0]!r}, which is not one of the {name} attributes")
    return protected


class FormedGroup(BaseModel):
    """A group and its members once formed."""

    id: int | None = Field(description="The group's id; null for a group a preview would create.")
    name: str = Field(description="The group's name.")
    members: list[int] = Field(description="Its members' student ids, in id order.")


class NumericQualityOut(BaseModel):
    """How alike the groups are on one number, and how much more than seeded random they are."""

    attribute: str = Field(description="The attribute.")
    sd_of_means: float = Field(description="Standard deviation of the group means.")
    range_of_means: float = Field(description="Highest group mean minus lowest.")
    sd_of_sds: float = Field(description="Standard deviation of the groups' standard deviations.")
    sd_of_means_ratio: float | None = Field(
        description="The standard deviation of the means over seeded random's (lower is better)."
    )
    range_of_means_ratio: float | None = Field(description="The range of the means over seeded random's.")
    sd_of_sds_ratio: float | None = Field(
        description="The standard deviation of the SDs over seeded random's."
    )


class CategoricalQualityOut(BaseModel):
    """How evenly one category is spread."""

    attribute: str = Field(description="The attribute.")
    largest_deviation: float = Field(description="Largest |count - size * share| over groups and values.")
    isolated: int = Field(description="Members alone with a minority value in their group.")


class QualityReportOut(BaseModel):
    """What a formation achieved."""

    sizes: list[int] = Field(description="Each group's size, in group order.")
    numeric: Sequence[NumericQualityOut] = Field(description="Per numeric attribute.")
    categorical: Sequence[CategoricalQualityOut] = Field(description="Per categorical attribute.")
    violations: int = Field(description="Hard constraints broken: always 0.")
    seed: int = Field(description="The seed used.")
    strategy: str = Field(description="The strategy used.")
    runtime_ms: float = Field(description="How long the engine took.")


class FormationOut(BaseModel):
    """A formation: the groups, who did not fit, the quality report, and (saved) its history id."""

    formation_id: int | None = Field(description="Its id in the history when saved (undo it with it).")
    saved: bool = Field(description="Whether it was saved.")
    parent_group_id: int = Field(description="The parent group.")
    groups: list[FormedGroup] = Field(description="The groups formed, each with all its members.")
    unplaced: list[int] = Field(description="Students no group had room for, never dropped silently.")
    report: QualityReportOut = Field(description="The quality report.")


class SavedFormationOut(BaseModel):
    """A saved formation in the history."""

    id: int = Field(description="The formation's id.")
    parent_group_id: int | None = Field(description="The parent group (null: a module's root).")
    module_id: int | None = Field(description="The module, for a module's groups.")
    strategy: str = Field(description="How the groups were formed.")
    seed: int = Field(description="The seed used.")
    request: dict[str, Any] = Field(description="The request as it was sent, with the seed used.")
    group_ids: list[int] = Field(description="The groups formed.")
    created_group_ids: list[int] = Field(description="The groups it created (undo deletes them).")
    member_count: int = Field(description="How many memberships it wrote.")
    user_id: int | None = Field(description="Who saved it (the key's user).")
    created_at: DomoscioTimestamp = Field(description="When (UTC).")
    reverted_at: DomoscioTimestamp | None = Field(description="When it was undone (UTC); null if not.")
    instance_id: int = Field(description="The instance it belongs to (the caller's).")
