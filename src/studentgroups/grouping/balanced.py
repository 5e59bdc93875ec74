"""Balanced formation: alike group means and spreads, categorical values spread evenly.

Two steps, both in NumPy so that 100,000 members take seconds, not minutes:

1. `deal`: members sorted on the numeric composite (the sum of z-scores) are dealt in rounds of
   one member per group with room, the top band first, then the bottom band, then the next top
   band, and so on inwards, so the last rounds (which decide the final spread of the sums) deal
   the dense middle. In each round the strongest member goes to the group with the lowest
   running sum: the greedy corrects itself round after round.
2. `improve`: exchanges between pairs of groups on the k-plus objective (anticlust's: the group
   means of each standardised attribute x and of (x - mean)^2 should be alike, so means and
   variances are), plus the squared deviation of each categorical share, weighted so that a
   one-member deviation outweighs any numeric gain (the categorical spread is made here, by
   swaps that trade a surplus value for a missing one). Each pass pairs the groups at the two
   ends of one direction of their deviations (the furthest above with the furthest below, and
   their neighbours) and applies, for as many disjoint pairs as gain, the best swap of two
   members. Swaps never touch members bound by a rule, and only swap members with the same
   values of the noIsolation attributes, so every rule and every noIsolation pair stays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.sizing import Rooms

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# A one-member deviation of a categorical share costs this much more than the same deviation of
# a standardised numeric mean: categorical evenness comes first, numeric balance within it.
CATEGORICAL_WEIGHT = 100.0
# The spread features weigh this much against the means by default (a request's `spread_weight`
# chooses: 0 the means alone, 1 both alike, anticlust's k-plus). In small groups the two pull
# apart for good: a group holding an extreme member cannot match both the others' mean and their
# spread (with groups of 5, a member 2.3 SDs out forces its group's SD up or its mean off), so
# every method ends on the same front (bench/formation.py, docs/benchmarks.md, issue 16). With
# groups of 20 both reach a few thousandths of random's at any weight from 0.1.
SPREAD_WEIGHT = 0.3
# Under this many members a group, the default weighs the spreads less (the means are what a
# teacher compares first): with groups of 5, means about 5 % of random's, SDs about half.
SMALL_GROUP = 10
SMALL_GROUP_SPREAD_WEIGHT = 0.1


def default_spread_weight(members: int, groups: int) -> float:
    """The spreads' weight when the request names none: less for small groups."""
    return SMALL_GROUP_SPREAD_WEIGHT if members < SMALL_GROUP * max(groups, 1) else SPREAD_WEIGHT


# Seeded directions tried per cycle of passes besides the axes of the deviations (per axis).
RANDOM_DIRECTIONS = 1
MAX_CYCLES = 300
# Swaps evaluated per pass (bounds its time): small groups get more partner groups per pass.
EVALUATIONS_PER_PASS = 1_000_000
MAX_PARTNERS = 64
# Stop once the weighted numeric deviations are this fraction of random's.
GOOD_ENOUGH = 0.002
# A cycle of passes that gains less than this share of the numeric part of the objective, and of
# the categorical part above its floor, ends the exchanges.
STALLED = 0.001
# Swaps are evaluated in chunks of about this many (bounds the memory a pass takes, about 8 bytes
# each per temporary array), and among at most MAX_SLOTS members of each group per pass.
ELEMENTS_PER_CHUNK = 1 << 19
MAX_SLOTS = 256
# Rounds of the parallel matching that picks which swaps of a pass to apply.
MATCHING_ROUNDS = 8
TOLERANCE = 1e-12


def standardised(values: Floats) -> Floats:
    """Each column as z-scores (a constant column as zeros)."""
    mean = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
    spread = values.std(axis=0) if len(values) else np.ones(values.shape[1])
    return np.asarray((values - mean) / np.where(spread > 0, spread, 1.0), dtype=np.float64)


def kplus_features(numeric: Floats, spread_weight: float = SPREAD_WEIGHT) -> tuple[Floats, Floats]:
    """The k-plus features (each standardised attribute, and its standardised squared deviation)
    and their weights in the objective.
    """
    z = standardised(numeric)
    if not z.shape[1]:
        return z, np.zeros(0)
    weights = np.concatenate([np.ones(z.shape[1]), np.full(z.shape[1], spread_weight)])
    return np.hstack([z, standardised(z * z)]), weights


def seeded_units(seed: int, purpose: str, count: int) -> Floats:
    """`count` numbers in [-1, 1) derived from the seed alone (BLAKE2, stable everywhere)."""
    if count == 0:
        return np.zeros(0)
    raw = b""
    block = 0
    while len(raw) < 8 * count:
        raw += hashlib.blake2b(f"{purpose}:{block}".encode(), key=seed.to_bytes(8, "big")).digest()
        block += 1
    words = np.frombuffer(raw[: 8 * count], dtype=">u8").astype(np.float64)
    return np.asarray(words / 2.0**63 - 1.0, dtype=np.float64)


class BalancedChooser:
    """Places a unit where the group's running composite sum ends closest to the average.

    Before that: groups where the unit needs no extra place, then groups with the most room (so
    units spread over the groups), then the seeded order of groups.
    """

    def __init__(self, composite: Floats, group_rank: Ints) -> None:
        self.composite = composite
        self.group_rank = group_rank
        self.sums = np.zeros(len(group_rank), dtype=np.float64)

    def order(self, members: Sequence[int], candidates: Ints, rooms: Rooms) -> Ints:
        size = len(members)
        unit_sum = float(self.composite[list(members)].sum()) if len(members) else 0.0
        keys = (
            self.group_rank[candidates],
            np.abs(self.sums[candidates] + unit_sum),
            -rooms.free()[candidates],
            rooms.needs_extra(size)[candidates],
        )
        return candidates[np.lexsort(keys)]

    def share(self, units: Sequence[Sequence[int]], candidates: Ints, rooms: Rooms) -> Ints:
        """The groups with the most room, the weakest running sum taking the strongest unit."""
        keys = (self.group_rank[candidates], self.sums[candidates], -rooms.free()[candidates])
        chosen = candidates[np.lexsort(keys)[: len(units)]]
        receivers = chosen[np.lexsort((self.group_rank[chosen], self.sums[chosen]))]
        strength = np.array([float(self.composite[list(unit)].sum()) for unit in units])
        groups = np.empty(len(units), dtype=np.int64)
        groups[np.argsort(-strength, kind="stable")] = receivers
        return groups

    def placed(self, members: Sequence[int], group: int, sign: int) -> None:
        if len(members):
            self.sums[group] += sign * float(self.composite[list(members)].sum())


@dataclass(frozen=True, slots=True)
class Balance:
    """What the dealing and the exchanges balance, per member (new and existing alike)."""

    composite: Floats  # sum of z-scores: the order members are dealt in
    features: Floats  # k-plus features, one column each
    weights: Floats  # each feature's weight in the objective
    categories: list[Ints]  # value codes of each categorical attribute spread evenly
    swap_class: Ints  # one code per combination of protected noIsolation values: swaps stay inside one
    movable: Bools  # members the exchanges may move


def deal(balance: Balance, free: Ints, room: Ints, group_of: Ints, rank: Ints, group_rank: Ints) -> None:
    """Deal the `free` members into the `room` left in each group (see the module's step 1)."""
    groups = len(room)
    if groups == 0 or len(free) == 0:
        return
    room = room.copy()
    placed = group_of >= 0
    sums = np.bincount(group_of[placed], weights=balance.composite[placed], minlength=groups).astype(
        np.float64
    )
    members = free[np.lexsort((rank[free], -balance.composite[free]))]
    top, bottom = 0, len(members)
    from_top = True
    while top < bottom:
        eligible = np.flatnonzero(room > 0)
        take = min(len(eligible), bottom - top)
        if take < len(eligible):
            eligible = eligible[np.lexsort((group_rank[eligible], -room[eligible]))[:take]]
        if from_top:
            batch = members[top : top + take]
            top += take
        else:
            batch = members[bottom - take : bottom]
            bottom -= take
        from_top = not from_top
        receivers = eligible[np.lexsort((group_rank[eligible], sums[eligible]))]
        group_of[batch] = receivers
        sums[receivers] += balance.composite[batch]
        room[receivers] -= 1


def _slots(group_of: Ints, groups: int) -> Ints:
    """Members by group as a (groups, largest size) matrix padded with -1."""
    placed = np.flatnonzero(group_of >= 0)
    order = placed[np.argsort(group_of[placed], kind="stable")]
    sizes = np.bincount(group_of[order], minlength=groups)
    width = int(sizes.max(initial=0))
    slots = np.full((groups, max(width, 1)), -1, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    column = np.arange(len(order)) - np.repeat(starts, sizes)
    slots[group_of[order], column] = order
    return slots


class _Exchange:
    """The state the passes of `improve` share: who is where, and the groups' deviations."""

    def __init__(self, balance: Balance, group_of: Ints, groups: int) -> None:
        self.balance = balance
        self.slots = _slots(group_of, groups)
        # What the passes read of each slot's member, laid out by slot (a group's slots side by
        # side), so a pass reads whole rows instead of a million scattered members; the swaps
        # keep them in step with `slots`. Padding and members bound by a rule have class -1.
        filled = self.slots >= 0
        member = np.maximum(self.slots, 0)
        self.slot_features = np.where(filled, balance.features[member].transpose(2, 0, 1), 0.0)
        self.slot_class = np.where(filled & balance.movable[member], balance.swap_class[member], -1)
        self.slot_codes = [np.where(filled, codes[member], 0) for codes in balance.categories]
        self._work: tuple[Floats, Floats, Bools] | None = None
        placed = group_of >= 0
        size = np.bincount(group_of[placed], minlength=groups).astype(np.float64)
        self.size = np.where(size > 0, size, 1.0)
        features = balance.features
        self.sums = np.zeros((groups, features.shape[1]))
        np.add.at(self.sums, group_of[placed], features[placed])
        self.mean = features[placed].mean(axis=0) if placed.any() else np.zeros(features.shape[1])
        self.counts: list[Floats] = []
        self.shares: list[Floats] = []
        for codes in balance.categories:
            values = int(codes.max(initial=-1)) + 1
            tally = np.zeros((groups, values))
            np.add.at(tally, (group_of[placed], codes[placed]), 1.0)
            self.counts.append(tally)
            self.shares.append(tally.sum(axis=0) / max(float(placed.sum()), 1.0))

    def deviations(self) -> Floats:
        """Per group: mean deviations of the features, then weighted share deviations."""
        parts = [np.sqrt(self.balance.weights) * (self.sums / self.size[:, None] - self.mean)]
        parts += [
            np.sqrt(CATEGORICAL_WEIGHT) * (tally / self.size[:, None] - share)
            for tally, share in zip(self.counts, self.shares, strict=True)
        ]
        return np.hstack(parts)

    def objective(self) -> float:
        return float((self.deviations() ** 2).sum())

    def numeric_deviations(self) -> Floats:
        """Root mean square over groups of each weighted feature's mean deviation (unweighted)."""
        deviation = (self.sums / self.size[:, None] - self.mean)[:, self.balance.weights > 0]
        return np.asarray(np.sqrt((deviation**2).mean(axis=0)), dtype=np.float64)

    def categorical_floor(self) -> float:
        """A lower bound of the categorical part: each count at the integer nearest its share."""
        floor = 0.0
        for share in self.shares:
            ideal = self.size[:, None] * share
            floor += float((((ideal - np.round(ideal)) / self.size[:, None]) ** 2).sum())
        return CATEGORICAL_WEIGHT * floor

    def categories_even(self) -> bool:
        """Whether every group holds each categorical value within one member of its share."""
        return all(
            bool((np.abs(tally - self.size[:, None] * share) < 1.0).all())
            for tally, share in zip(self.counts, self.shares, strict=True)
        )

    def numeric_objective(self) -> float:
        deviation = self.sums / self.size[:, None] - self.mean
        return float((self.balance.weights * deviation**2).sum())

    def best_swaps(
        self, g: Ints, h: Ints, left_columns: Ints, right_columns: Ints, deviation: Floats
    ) -> tuple[Floats, Ints, Ints]:
        """For each pair of groups (g[p], h[p]): the gain of its best swap and the two slots,
        among the slots in `left_columns` of g and `right_columns` of h (`deviation`: each
        group's mean deviation of each feature, as the pass began).

        The swaps are one (left slot, right slot, pair) array, pairs last: every operation on it
        then runs along thousands of contiguous pairs, not along a group's few slots (three times
        faster at groups of 20). Ties go to the first swap in (left, right) slot order.
        """
        b = self.balance
        pairs = len(g)
        wide_left, wide_right = len(left_columns), len(right_columns)
        left_at = (g[None, :], left_columns[:, None])
        right_at = (h[None, :], right_columns[:, None])
        ng, nh = self.size[g], self.size[h]
        quad = 1.0 / ng**2 + 1.0 / nh**2
        # The change of the objective splits into a part of the left member alone, one of the right
        # member alone and their cross term. Plain element-wise arithmetic (no BLAS, no einsum),
        # so that every platform rounds alike and a seed gives the same groups everywhere.
        lin = 2.0 * (deviation[g] / ng[:, None] - deviation[h] / nh[:, None])
        own_left = np.zeros((wide_left, pairs))
        own_right = np.zeros((wide_right, pairs))
        cross: list[tuple[Floats, Floats]] = []
        for f, weight in enumerate(b.weights.tolist()):
            if weight == 0.0:
                continue
            fl, fr = self.slot_features[f][left_at], self.slot_features[f][right_at]
            own_left += weight * (quad * fl * fl - lin[:, f] * fl)
            own_right += weight * (quad * fr * fr + lin[:, f] * fr)
            cross.append(((2.0 * weight * quad) * fl, fr))
        unlike: list[tuple[Floats, Ints, Ints]] = []
        pair = np.arange(pairs)[None, :]
        for codes, tally, share in zip(self.slot_codes, self.counts, self.shares, strict=True):
            cl, cr = codes[left_at], codes[right_at]
            dg = tally[g] / ng[:, None] - share
            dh = tally[h] / nh[:, None] - share

            def pull(values: Ints, dg: Floats = dg, dh: Floats = dh) -> Floats:
                return np.asarray(2.0 * (dg[pair, values] / ng - dh[pair, values] / nh), dtype=np.float64)

            own_left -= CATEGORICAL_WEIGHT * pull(cl)
            own_right += CATEGORICAL_WEIGHT * pull(cr)
            unlike.append((CATEGORICAL_WEIGHT * 2.0 * quad, cl, cr))
        delta, work, flags = self._workspace(wide_left, wide_right, pairs)
        np.add(own_left[:, None, :], own_right[None, :, :], out=delta)
        for scaled, fr in cross:
            np.multiply(scaled[:, None, :], fr[None, :, :], out=work)
            delta -= work
        for moved, cl, cr in unlike:
            np.not_equal(cl[:, None, :], cr[None, :, :], out=flags)
            np.multiply(flags, moved, out=work)
            delta += work
        # A swap is allowed between two movable members of one swap class (padding and members
        # bound by a rule have class -1 on the left, -2 on the right: never alike).
        left_class = self.slot_class[left_at]
        right_class = np.where(self.slot_class[right_at] < 0, -2, self.slot_class[right_at])
        np.not_equal(left_class[:, None, :], right_class[None, :, :], out=flags)
        np.putmask(delta, flags, np.inf)
        # NumPy's argmin across the leading axes is slow; the minimum and its first place are not.
        flat = delta.reshape(wide_left * wide_right, pairs)
        gain = flat.min(axis=0)
        ranks = work.reshape(wide_left * wide_right, pairs)
        ranks[...] = np.inf
        np.copyto(ranks, np.arange(wide_left * wide_right, dtype=np.float64)[:, None], where=flat == gain)
        best = ranks.min(axis=0).astype(np.int64)
        return gain, left_columns[best // wide_right], right_columns[best % wide_right]

    def _workspace(self, wide_left: int, wide_right: int, pairs: int) -> tuple[Floats, Floats, Bools]:
        """Arrays for one chunk of swaps, kept from chunk to chunk (a fresh one costs its pages)."""
        shape = (wide_left, wide_right, pairs)
        if self._work is None or self._work[0].shape != shape:
            self._work = (np.empty(shape), np.empty(shape), np.empty(shape, dtype=np.bool_))
        return self._work

    def swap(self, g: Ints, h: Ints, i: Ints, j: Ints) -> None:
        """Apply the swaps slot i of group g <-> slot j of group h (each group at most once)."""
        b = self.balance
        a, c = self.slots[g, i], self.slots[h, j]
        for by_slot in (self.slots, self.slot_class, *self.slot_codes):
            by_slot[g, i], by_slot[h, j] = by_slot[h, j], by_slot[g, i]
        self.slot_features[:, g, i], self.slot_features[:, h, j] = (
            self.slot_features[:, h, j],
            self.slot_features[:, g, i],
        )
        moved = b.features[c] - b.features[a]
        self.sums[g] += moved
        self.sums[h] -= moved
        for codes, tally in zip(b.categories, self.counts, strict=True):
            np.add.at(tally, (g, codes[a]), -1.0)
            np.add.at(tally, (g, codes[c]), 1.0)
            np.add.at(tally, (h, codes[c]), -1.0)
            np.add.at(tally, (h, codes[a]), 1.0)

    def group_of(self, members: int) -> Ints:
        result = np.full(members, -1, dtype=np.int64)
        rows, columns = np.nonzero(self.slots >= 0)
        result[self.slots[rows, columns]] = rows
        return result


def _candidate_pairs(order: Ints, partners: int) -> tuple[Ints, Ints]:
    """Pairs of groups from the two ends of `order`: each with its mirror and its mirror's neighbours."""
    groups = len(order)
    position = np.arange(groups)
    firsts, seconds = [], []
    for shift in range(partners):
        offset = (shift + 1) // 2 * (1 if shift % 2 else -1)
        mirror = groups - 1 - position + offset
        keep = (mirror > position) & (mirror < groups)
        firsts.append(order[position[keep]])
        seconds.append(order[mirror[keep]])
    return np.concatenate(firsts), np.concatenate(seconds)


def _disjoint(g: Ints, h: Ints, gain: Floats, groups: int) -> Ints:
    """Improving pairs to apply, no group twice: rounds of locally dominant pairs (each the best
    remaining pair of both its groups), a parallel form of the greedy matching.
    """
    chosen: list[Ints] = []
    left = np.flatnonzero(gain < -TOLERANCE)
    for _ in range(MATCHING_ROUNDS):
        if len(left) == 0:
            break
        ends = np.concatenate([g[left], h[left]])
        pairs = np.concatenate([left, left])
        order = np.lexsort((pairs, gain[pairs], ends))
        first = np.ones(len(order), dtype=np.bool_)
        first[1:] = ends[order[1:]] != ends[order[:-1]]
        best = np.full(groups, -1, dtype=np.int64)
        best[ends[order[first]]] = pairs[order[first]]
        taken = left[(best[g[left]] == left) & (best[h[left]] == left)]
        chosen.append(taken)
        used = np.zeros(groups, dtype=np.bool_)
        used[g[taken]] = True
        used[h[taken]] = True
        left = left[~used[g[left]] & ~used[h[left]]]
    return np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)


def improve(balance: Balance, group_of: Ints, groups: int, seed: int) -> Ints:
    """Exchange members between groups while the k-plus objective falls (module's step 2).

    Each pass pairs every group with `partners` groups from the other end of one direction, finds
    each pair's best swap, and applies the best of them that share no group. It stops when a cycle
    of directions gains less than STALLED of the numeric part and of the categorical part above
    its floor, when the numeric deviations are below GOOD_ENOUGH of what random gives and every
    categorical value is within one member of its share, or after MAX_CYCLES.
    """
    if groups < 2 or not balance.movable.any():
        return group_of
    state = _Exchange(balance, group_of, groups)
    axes = state.deviations().shape[1]
    if axes == 0:
        return group_of
    features = balance.features.shape[1]
    numeric_axes = [np.eye(axes)[k] for k in range(features)]
    categorical_axes = [np.eye(axes)[k] for k in range(features, axes)]
    mixed = list(seeded_units(seed, "directions", RANDOM_DIRECTIONS * axes).reshape(-1, axes))
    width = state.slots.shape[1]
    # Large groups: a window of their slots per pass, sized so a pass stays within its budget.
    window = int(min(width, MAX_SLOTS, max(8, np.sqrt(EVALUATIONS_PER_PASS / max(groups // 2, 1)))))
    partners = int(
        np.clip(EVALUATIONS_PER_PASS // (groups * window * window), 1, min(MAX_PARTNERS, max(4, groups // 3)))
    )
    chunk = max(1, ELEMENTS_PER_CHUNK // (window * window))
    passes = 0
    floor = state.categorical_floor()
    # Random's group means of a standardised feature deviate by about 1 / sqrt(size).
    enough = GOOD_ENOUGH / np.sqrt(float(np.mean(state.size)))
    for _ in range(MAX_CYCLES):
        before, numeric_before = state.objective(), state.numeric_objective()
        # Once every value is within one member of its share, only the numbers are left to even.
        directions = numeric_axes + ([] if state.categories_even() else categorical_axes) + mixed
        for direction in directions:
            order = np.argsort((state.deviations() * direction).sum(axis=1), kind="stable")
            g, h = _candidate_pairs(order, partners)
            left = (passes * window + np.arange(window)) % width
            right = (passes * window + window // 2 + np.arange(window)) % width
            passes += 1
            gains, firsts, seconds = [], [], []
            deviation = state.sums / state.size[:, None] - state.mean
            for start in range(0, len(g), chunk):
                part = slice(start, start + chunk)
                gain, i, j = state.best_swaps(g[part], h[part], left, right, deviation)
                gains.append(gain)
                firsts.append(i)
                seconds.append(j)
            gain, i, j = np.concatenate(gains), np.concatenate(firsts), np.concatenate(seconds)
            chosen = _disjoint(g, h, gain, groups)
            if len(chosen):
                state.swap(g[chosen], h[chosen], i[chosen], j[chosen])
        numeric_after = state.numeric_objective()
        categorical_gain = (before - numeric_before) - (state.objective() - numeric_after)
        categorical_excess = max(before - numeric_before - floor, 0.0)
        if (
            numeric_before - numeric_after <= STALLED * numeric_before
            and categorical_gain <= STALLED * categorical_excess
        ):
            break
        if (state.numeric_deviations() <= enough).all() and state.categories_even():
            break
    return state.group_of(len(group_of))
