"""The formation engine's vocabulary: what a request holds and what a formation answers.

Plain frozen data, so a request can be built by any caller (an endpoint, the CLI, a test) and a
formation compared, stored or rendered without the engine. Nothing here knows about a database.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.random import Target

Strategy = Literal["random", "balanced"]
DEFAULT_MINORITY_SHARE = 1 / 3
"""noIsolation protects, by default, the values held by fewer than a third of the members."""
STRATEGIES: tuple[Strategy, ...] = ("random", "balanced")
MAX_SPREAD_WEIGHT = 10.0
"""The most the spreads may weigh beside the means (above 1 they count more than the means)."""
OBJECTIVES: Mapping[str, float] = {"means": 0.0, "means_and_spreads": 1.0, "spreads": 4.0}
"""balanced's named objectives, as the spreads' weight beside the means. `spreads`: the SDs
first (with groups of 5, SDs under a quarter of random's, means about a third)."""


def spread_weight_of(objective: str | float | None) -> float | None:
    """The spreads' weight an objective asks for: a name of `OBJECTIVES`, or a weight from 0 to 10
    (as a number, or as its text on a command line); None: the engine's default. ValueError
    otherwise."""
    if objective is None:
        return None
    if isinstance(objective, str):
        if objective in OBJECTIVES:
            return OBJECTIVES[objective]
        try:
            objective = float(objective)
        except ValueError:
            objective = -1.0
    if not 0 <= objective <= MAX_SPREAD_WEIGHT:
        raise ValueError("means, means_and_spreads, spreads, or a number from 0 to 10")
    return float(objective)


@dataclass(frozen=True, slots=True)
class Member:
    """A learner to place, with the attributes a formation may balance.

    A numeric attribute a member lacks counts as the mean of the members that have it (in the
    placement and in the report alike). A categorical attribute a member lacks counts as the
    empty value `""`, a value of its own.
    """

    key: str
    numeric: Mapping[str, float] = field(default_factory=dict)
    categorical: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MemberColumns(Sequence[Member]):
    """Members as columns: a sequence of `Member` without an object per member (a roster of a
    million read from a CSV straight into arrays; the engine reads the columns as they are).

    Member i is `keys[i]`; `numeric[name][i]` its number (NaN: it lacks the attribute);
    `categorical[name][i]` its value (`""`: it lacks it). Every column is as long as `keys`.
    """

    keys: Sequence[str]
    numeric: Mapping[str, npt.NDArray[np.float64]] = field(default_factory=dict)
    categorical: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.keys)

    @overload
    def __getitem__(self, i: int) -> Member: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Member]: ...
    def __getitem__(self, i: int | slice) -> Member | Sequence[Member]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self.keys)))]
        numbers = {name: float(column[i]) for name, column in self.numeric.items()}
        return Member(
            key=self.keys[i],
            numeric={name: number for name, number in numbers.items() if not math.isnan(number)},
            categorical={name: column[i] for name, column in self.categorical.items() if column[i]},
        )


@dataclass(frozen=True, slots=True)
class Constraints:
    """Hard rules: they hold in every formation, or the request is refused with `Infeasible`.

    Keys may name members to place or members already in a group (`existing`): an existing
    member stays where it is, so a rule that names one ties the others to its group.
    Keep-together sets that share a member merge into one set.
    """

    keep_together: Sequence[Sequence[str]] = ()
    keep_apart: Sequence[Sequence[str]] = ()
    pinned: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FormationRequest:
    """Members to place into targets, how, and under which rules.

    `existing` is the top-up mode: the members already in each target stay there, count toward
    its size and capacity and toward the balance, and only `members` are placed.
    """

    members: Sequence[Member]
    targets: Sequence[Target]
    strategy: Strategy = "random"
    seed: int = 0
    numeric: Sequence[str] = ()
    categorical: Sequence[str] = ()
    no_isolation: Sequence[str] = ()
    constraints: Constraints = field(default_factory=Constraints)
    existing: Mapping[str, Sequence[Member]] = field(default_factory=dict)
    protected: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """noIsolation's protected values, by attribute; an attribute not named here protects the
    values held by fewer than `minority_share` of the members (never a majority)."""
    minority_share: float = DEFAULT_MINORITY_SHARE
    sections: str | None = None
    """A categorical attribute whose values are sections: each group is drawn from one section,
    the groups allotted to the sections in proportion to their sizes (`sections.allot`), and each
    section formed (and balanced) on its own. None: one pool."""
    spread_weight: float | None = None
    """balanced: how much alike group spreads (SDs) count beside alike group means, from 0 (the
    means alone) through 1 (both alike: anticlust's k-plus) to 10 (the SDs first); None: the
    engine's default
    (`balanced.default_spread_weight`: 0.1 for groups under 10 members, else 0.3)."""


@dataclass(frozen=True, slots=True)
class NumericQuality:
    """How alike the groups are on one numeric attribute (population SDs, over non-empty groups).

    Each ratio compares with the same request formed by seeded random; None when random's is 0.
    """

    attribute: str
    sd_of_means: float
    range_of_means: float
    sd_of_sds: float
    sd_of_means_ratio: float | None
    range_of_means_ratio: float | None
    sd_of_sds_ratio: float | None


@dataclass(frozen=True, slots=True)
class CategoricalQuality:
    """How evenly one categorical attribute is spread.

    `largest_deviation`: max over groups and values of |count - size * share|, the share taken
    over all the members in the groups. `isolated`: members that are the only one of their value
    in their group, for the values noIsolation protects (`FormationRequest.protected`, else those
    under its `minority_share`).
    """

    attribute: str
    largest_deviation: float
    isolated: int


@dataclass(frozen=True, slots=True)
class QualityReport:
    """What a preview shows next to its groups.

    `sizes`: members per target (existing and new), in target key order. `violations`: hard
    rules broken, recounted from the request (always 0). `runtime_ms`: the whole call,
    including the seeded random formation the ratios compare with.
    """

    sizes: list[int]
    numeric: list[NumericQuality]
    categorical: list[CategoricalQuality]
    violations: int
    seed: int
    strategy: str
    runtime_ms: float


@dataclass(frozen=True, slots=True)
class GroupPicture:
    """One group as a preview draws it: its size, the mean of each numeric attribute (None for an
    empty group), the count of each value of each categorical one, and the members that are
    alone with a value noIsolation protects."""

    key: str
    size: int
    means: dict[str, float | None]
    counts: dict[str, dict[str, int]]
    isolated: list[str]


@dataclass(frozen=True, slots=True)
class Formation:
    """Every target key (in key order) with its new members; who did not fit; the report."""

    groups: dict[str, list[str]]
    unplaced: list[str]
    report: QualityReport


class Infeasible(ValueError):
    """The request cannot be formed: each problem names the rule (or field) and says why (a 400).

    Raised with every problem found in one pass over the request and its rules; problems that
    depend on room are found once the rules themselves are sound.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))
