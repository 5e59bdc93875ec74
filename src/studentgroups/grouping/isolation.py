"""noIsolation: no member alone with a minority value in a group, where the numbers allow.

For each named attribute, the protected values (`Roster.protected`: those the request names, else
those held by fewer than a third of the members) are the minority values. Its members not
bound by a rule are placed before everyone else, in this order:
1. one joins each group already holding exactly one member of the value (an existing member,
   or one a rule put there), so that member is no longer alone;
2. the rest go in pairs, each pair to a group without the value;
3. an odd one out joins a group that already has two or more (making a group of three).
What cannot be done (a value with one member, groups too small, no room) is left to the general
placement, and shows in the report's `isolated` count. Later exchanges only swap members with
the same values of these attributes, so nothing done here is undone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.constraints import GroupChooser
from studentgroups.grouping.roster import Roster
from studentgroups.grouping.sizing import Rooms

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]


@dataclass(slots=True)
class _Value:
    """One minority value being placed: its members waiting, and how many each group holds."""

    waiting: list[int]
    held: Ints
    group_of: Ints
    free: Bools
    rooms: Rooms
    chooser: GroupChooser

    def put(self, members: list[int], group: int) -> None:
        self.rooms.take(group, len(members))
        self.group_of[members] = group
        self.free[members] = False
        self.held[group] += len(members)
        self.chooser.placed(members, group, +1)

    def keep_company(self) -> None:
        """Step 1: one member joins each group where a member of the value is alone."""
        for group in np.flatnonzero(self.held == 1).tolist():
            if not self.waiting:
                return
            if self.rooms.can_take(group, 1):
                self.put([self.waiting.pop(0)], group)

    def pair_up(self) -> None:
        """Step 2: pairs, to groups without the value first; a batch of groups at a time."""
        count = len(self.waiting) // 2 * 2
        pairs = [self.waiting[k : k + 2] for k in range(0, count, 2)]
        while pairs:
            fits = self.rooms.fits(2)
            plain = fits & ~self.rooms.needs_extra(2)
            candidates = np.flatnonzero(plain & (self.held == 0))
            if len(candidates) == 0:
                candidates = np.flatnonzero(plain & (self.held != 1))
            if len(candidates):
                batch, pairs = pairs[: len(candidates)], pairs[len(candidates) :]
                for pair, group in zip(batch, self.chooser.share(batch, candidates, self.rooms), strict=True):
                    self.put(pair, int(group))
                continue
            # Only groups that would take one of the extra places are left: one pair at a time.
            candidates = np.flatnonzero(fits & (self.held != 1))
            if len(candidates) == 0:
                break
            self.put(pairs[0], int(self.chooser.order(pairs[0], candidates, self.rooms)[0]))
            pairs = pairs[1:]
        self.waiting = [m for pair in pairs for m in pair] + self.waiting[count:]

    def odd_one_out(self) -> None:
        """Step 3: a last member alone joins a group that already has two or more."""
        if len(self.waiting) != 1:
            return
        candidates = np.flatnonzero(self.rooms.fits(1) & (self.held >= 2))
        if len(candidates):
            self.put(self.waiting, int(self.chooser.order(self.waiting, candidates, self.rooms)[0]))


def place_minorities(
    roster: Roster,
    attributes: list[int],
    free: Bools,
    group_of: Ints,
    rooms: Rooms,
    chooser: GroupChooser,
) -> None:
    """Place the free members of every minority value of `attributes` (indices into the roster's
    categorical attributes); `free` (one flag per member) is cleared for those placed.
    """
    groups = len(roster.targets)
    if groups == 0:
        return
    for a in attributes:
        codes = roster.codes[a]
        placed = group_of >= 0
        counts = np.zeros((groups, len(roster.values[a])), dtype=np.int64)
        np.add.at(counts, (group_of[placed], codes[placed]), 1)
        for value in range(len(roster.values[a])):
            if not roster.protected[a][value]:
                continue
            waiting = np.flatnonzero(free & (codes == value))
            ordered = waiting[np.argsort(roster.rank[waiting], kind="stable")].tolist()
            minority = _Value(ordered, counts[:, value], group_of, free, rooms, chooser)
            minority.keep_company()
            minority.pair_up()
            minority.odd_one_out()
