"""How many groups, what they are called, and how many new members each may take.

`groups_needed` and `group_names` create groups as Moodle's and Canvas's autogroup forms do.
`Rooms` is the size rule every strategy shares: the groups are filled to a common level, the
smallest first (the water-filling that also tops up existing groups), so that among groups with
room the sizes differ by at most one and no capacity is exceeded. Which groups take the one
extra member is left open until the hard rules have been placed, so that a pin or a kept-together
set can use it; what is still open then goes to the first groups in key order, as
`plan_sizes` does.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import numpy.typing as npt

# Moodle's AUTOGROUP_MIN_RATIO: with "prevent a small last group", a last group below 70 % of the
# asked size is spread over the others. Kept as a fraction of integers to compare exactly.
MIN_RATIO_TENTHS = 7

Ints = npt.NDArray[np.int64]


def groups_needed(
    member_count: int, *, count: int | None = None, size: int | None = None, prevent_small_last: bool = False
) -> int:
    """How many groups to create: `count` of them, or enough for groups of `size`.

    With `size` and `prevent_small_last`, as Moodle's autogroup does: when the last group would
    hold less than 70 % of `size`, one group fewer is made and its members spread over the others
    (never fewer than one group while there are members).
    """
    if (count is None) == (size is None):
        raise ValueError("give exactly one of count and size")
    if member_count < 0:
        raise ValueError("member_count must not be negative")
    if count is not None:
        if count < 1:
            raise ValueError("count must be at least 1")
        return count
    assert size is not None
    if size < 1:
        raise ValueError("size must be at least 1")
    groups = -(-member_count // size)
    if prevent_small_last and member_count % size:
        missing = groups * size - member_count
        if missing * 10 > size * (10 - MIN_RATIO_TENTHS):
            groups -= 1
    return max(groups, 1 if member_count else 0)


def _letters(number: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA: the bijective base 26 of spreadsheet columns (and PHP's `++`)."""
    letters = ""
    while number:
        number, digit = divmod(number - 1, 26)
        letters = chr(ord("A") + digit) + letters
    return letters


def group_names(pattern: str, n: int, *, taken: Collection[str] = ()) -> list[str]:
    """`n` names from `pattern`: `@` becomes A, B, …, Z, AA, AB, …; `#` becomes 1, 2, ….

    A pattern with neither gets " #" appended; one with both numbers both alike ("Team @#" ->
    "Team A1", "Team B2"). Names in `taken` (compared exactly) are skipped, so new groups never
    take an existing group's name: with "Group A" taken, the next two are "Group B", "Group C".
    """
    if n < 0:
        raise ValueError("n must not be negative")
    if not pattern.strip():
        raise ValueError("the pattern must not be blank")
    if "@" not in pattern and "#" not in pattern:
        pattern += " #"
    taken_names = set(taken)
    names: list[str] = []
    number = 0
    while len(names) < n:
        number += 1
        name = pattern.replace("@", _letters(number)).replace("#", str(number))
        if name not in taken_names:
            names.append(name)
            taken_names.add(name)
    return names


def common_level(existing: Ints, capacities: Ints, count: int) -> tuple[Ints, Ints, int]:
    """Water-filling: `count` new members over groups holding `existing`, within `capacities` (0 = none).

    Answers `base` (new members each group takes at the highest common level that does not
    overshoot), `flex` (1 where a group could take one more without passing a capacity) and
    `extras` (how many of those do). When everything fits nowhere near, every group is filled to
    its capacity and `extras` is 0; members beyond that are the caller's to leave out.
    """
    limit = np.where(capacities > 0, capacities, np.iinfo(np.int64).max)

    def room_at(level: int) -> Ints:
        return np.maximum(np.minimum(limit, level) - existing, 0)

    if len(existing) == 0:
        return existing.copy(), existing.copy(), 0
    low, high = 0, int(existing.max(initial=0)) + count
    while low < high:
        middle = (low + high + 1) // 2
        if int(room_at(middle).sum()) <= count:
            low = middle
        else:
            high = middle - 1
    base = room_at(low)
    flex = room_at(low + 1) - base
    extras = min(count - int(base.sum()), int(flex.sum()))
    return base, flex, extras


def total_room(existing: Ints, capacities: Ints) -> int | None:
    """How many new members fit at all; None when some group has no capacity."""
    if len(existing) == 0:
        return 0
    if (capacities == 0).any():
        return None
    return int(np.maximum(capacities - existing, 0).sum())


class Rooms:
    """New places per group while a formation is built: the common level, and its open extras.

    A group may go one above its `base` only while extras are left; taking the last one closes
    the extra for every other group. `release` undoes a `take`, for the search that backtracks.
    """

    def __init__(self, base: Ints, flex: Ints, extras: int) -> None:
        self.base = base
        self.flex = flex
        self.extras_left = extras
        self.placed: Ints = np.zeros(len(base), dtype=np.int64)

    def _over_base(self) -> npt.NDArray[np.bool_]:
        return self.placed > self.base

    def fits(self, size: int) -> npt.NDArray[np.bool_]:
        """Which groups can take `size` more members now."""
        after = self.placed + size
        within = after <= self.base + self.flex
        return within & ((after <= self.base) | self._over_base() | (self.extras_left > 0))

    def can_take(self, group: int, size: int) -> bool:
        """Whether `group` can take `size` more members now."""
        after = int(self.placed[group]) + size
        base = int(self.base[group])
        if after > base + int(self.flex[group]):
            return False
        return after <= base or int(self.placed[group]) > base or self.extras_left > 0

    def needs_extra(self, size: int) -> npt.NDArray[np.bool_]:
        """Which groups would open one of the extras by taking `size` more members."""
        return (self.placed + size > self.base) & ~self._over_base()

    def free(self) -> Ints:
        """Places each group has left, counting an extra as open while any is left."""
        open_extra = self._over_base() | (self.extras_left > 0)
        return self.base + np.where(open_extra, self.flex, 0) - self.placed

    def take(self, group: int, size: int) -> None:
        """Place `size` members in `group` (the caller has checked `fits`)."""
        if self.placed[group] <= self.base[group] < self.placed[group] + size:
            self.extras_left -= 1
        self.placed[group] += size

    def release(self, group: int, size: int) -> None:
        """Undo `take(group, size)`."""
        if self.placed[group] - size <= self.base[group] < self.placed[group]:
            self.extras_left += 1
        self.placed[group] -= size

    def settle(self) -> Ints:
        """The places left once the open extras go to the first groups in key order that can take one."""
        over = self._over_base()
        room = np.where(over, self.base + self.flex, self.base) - self.placed
        if self.extras_left > 0:
            candidates = np.flatnonzero((self.flex > 0) & ~over)[: self.extras_left]
            room[candidates] += 1
            self.extras_left -= len(candidates)
        return room
