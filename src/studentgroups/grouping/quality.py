"""The quality report: how alike the groups came out, and a recount of the hard rules.

Measured over whole groups (existing members included, since that is what a teacher sees),
with population SDs: the SD and range of the group means over non-empty groups, and the SD of
the group SDs over groups of two or more. `violations` is recounted from the request's own rule
lists, not from the engine's units, so a bug in the engine shows here instead of hiding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.model import (
    CategoricalQuality,
    Constraints,
    NumericQuality,
)
from studentgroups.grouping.roster import Roster

Ints = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Spread:
    """One numeric attribute's figures for one grouping."""

    sd_of_means: float
    range_of_means: float
    sd_of_sds: float


def sizes(group_of: Ints, groups: int) -> Ints:
    """Members per group (existing and new)."""
    return np.bincount(group_of[group_of >= 0], minlength=groups)


def numeric_spread(values: npt.NDArray[np.float64], group_of: Ints, groups: int) -> Spread:
    """SD and range of group means, SD of group SDs."""
    placed = group_of >= 0
    where = group_of[placed]
    x = values[placed] - (values[placed].mean() if placed.any() else 0.0)
    n = np.bincount(where, minlength=groups).astype(np.float64)
    total = np.bincount(where, weights=x, minlength=groups)
    squares = np.bincount(where, weights=x * x, minlength=groups)
    filled = n > 0
    if not filled.any():
        return Spread(0.0, 0.0, 0.0)
    means = total[filled] / n[filled]
    several = n >= 2
    variances = squares[several] / n[several] - (total[several] / n[several]) ** 2
    sds = np.sqrt(np.maximum(variances, 0.0))
    return Spread(
        sd_of_means=float(means.std()),
        range_of_means=float(means.max() - means.min()),
        sd_of_sds=float(sds.std()) if len(sds) else 0.0,
    )


def _ratio(value: float, baseline: float) -> float | None:
    if baseline == 0:
        return None
    return value / baseline


def numeric_quality(
    roster: Roster, names: Sequence[str], group_of: Ints, baseline: Ints | None
) -> list[NumericQuality]:
    """Per numeric attribute (in the request's order), with ratios to the baseline grouping."""
    groups = len(roster.targets)
    result: list[NumericQuality] = []
    for name in dict.fromkeys(names):
        values = roster.numeric[:, roster.numeric_names.index(name)]
        mine = numeric_spread(values, group_of, groups)
        theirs = numeric_spread(values, baseline, groups) if baseline is not None else Spread(0.0, 0.0, 0.0)
        result.append(
            NumericQuality(
                attribute=name,
                sd_of_means=mine.sd_of_means,
                range_of_means=mine.range_of_means,
                sd_of_sds=mine.sd_of_sds,
                sd_of_means_ratio=_ratio(mine.sd_of_means, theirs.sd_of_means),
                range_of_means_ratio=_ratio(mine.range_of_means, theirs.range_of_means),
                sd_of_sds_ratio=_ratio(mine.sd_of_sds, theirs.sd_of_sds),
            )
        )
    return result


def categorical_quality(roster: Roster, names: Sequence[str], group_of: Ints) -> list[CategoricalQuality]:
    """Per categorical attribute (in the request's order): largest deviation, isolated members."""
    groups = len(roster.targets)
    placed = group_of >= 0
    result: list[CategoricalQuality] = []
    for name in dict.fromkeys(names):
        a = roster.categorical_names.index(name)
        codes = roster.codes[a]
        counts = np.zeros((groups, len(roster.values[a])), dtype=np.float64)
        np.add.at(counts, (group_of[placed], codes[placed]), 1.0)
        size = counts.sum(axis=1)
        total = size.sum()
        deviation = 0.0
        if total > 0:
            expected = np.outer(size, counts.sum(axis=0) / total)
            deviation = float(np.abs(counts - expected).max(initial=0.0))
        alone = (counts == 1) & roster.protected[a][None, :]
        result.append(
            CategoricalQuality(attribute=name, largest_deviation=deviation, isolated=int(alone.sum()))
        )
    return result


def violations(
    roster: Roster,
    constraints: Constraints,
    group_of: Ints,
    sections: str | None = None,
    *,
    even_sizes: bool = True,
) -> int:
    """Broken hard rules, recounted: pins, keep-together, keep-apart, capacities, and (unless
    `even_sizes` is off: a grouping staff changed by hand may be uneven on purpose) sizes within
    one (with `sections`, within one among the groups of each section, a group's section its
    members')."""
    index, groups = roster.index, len(roster.targets)
    broken = 0
    for key, target in constraints.pinned.items():
        if key in index and group_of[index[key]] != roster.target_index.get(target, -2):
            broken += 1
    for keys in constraints.keep_together:
        broken += len({int(group_of[index[k]]) for k in keys if k in index}) > 1
    for keys in constraints.keep_apart:
        held = [int(group_of[index[k]]) for k in set(keys) if k in index]
        placed = [g for g in held if g >= 0]
        broken += len(placed) != len(set(placed))
    total = sizes(group_of, groups)
    new = sizes(np.where(np.arange(len(group_of)) < roster.count, group_of, -1), groups)
    capacity = np.array([t.capacity for t in roster.targets], dtype=np.int64)
    broken += int(((capacity > 0) & (total > capacity) & (new > 0)).sum())
    if not even_sizes:
        return broken
    with_room = (capacity == 0) | (total < capacity)
    section_of = np.full(groups, -1, dtype=np.int64)
    if sections is not None:
        filled = np.flatnonzero(group_of >= 0)
        section_of[group_of[filled]] = roster.codes[roster.categorical_names.index(sections)][filled]
    for section in np.unique(section_of):
        alike = section_of == section if sections is not None else np.ones(groups, dtype=np.bool_)
        if (with_room & alike).any():
            lowest = int(total[with_room & alike].min())
            broken += int(((new > 0) & alike & (total > lowest + 1)).sum())
        if sections is None:
            break
    return broken
