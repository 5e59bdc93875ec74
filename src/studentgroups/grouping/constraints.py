"""The hard rules: read them, refuse the impossible ones with reasons, and place their members first.

Rules decided here (the issue leaves them open):
- Keep-together sets that share a member merge into one *unit*. A unit goes to one group whole,
  or (when members must be left out for want of room) is left out whole.
- A pin, or an existing member in the unit, *anchors* the unit to that target. Two pins to the
  same target in one unit agree and are accepted; a unit tied to two targets is refused.
- An existing member stays where it is: pinning it elsewhere is refused, and a rule naming it
  ties the others to (or keeps them from) its group.
- Keep-apart sets mean every two of their members are in different groups. A keep-apart set
  with two members of one unit, two members tied to one target, or more members than there are
  groups is refused.
- Sizes within one is a hard rule too: a unit must fit in the room the common level leaves
  (see `sizing.Rooms`), so "3 members, but no group has room for more than 2" is refused.
  So is a unit larger than any group's capacity: it is refused, never silently left out.
- Members that name no rule are never constrained here; a rule set of one member is a no-op.
When anchored units fit, the rest are placed largest first, then most-constrained first, by a
depth-first search that backtracks (bounded), so a packing that exists is found in practice
and a refusal names the unit that could not be placed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.model import Constraints, Infeasible
from studentgroups.grouping.roster import Roster, capped
from studentgroups.grouping.sizing import Rooms

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
SEARCH_STEPS_PER_UNIT = 50
SEARCH_STEPS_MIN = 20_000


@dataclass(slots=True)
class Unit:
    """Members that go to one group together (new and existing), and what ties it."""

    members: list[int]
    anchor: int = -1
    apart: list[int] = field(default_factory=list)

    def new_members(self, count: int) -> list[int]:
        """Its members still to place (indices below `count`)."""
        return [m for m in self.members if m < count]


@dataclass(slots=True)
class Rules:
    """The request's rules over member indices: units, and keep-apart sets of unit ids."""

    units: list[Unit]
    unit_of: dict[int, int]
    apart_sets: list[list[int]]
    apart_keys: list[list[str]]


class GroupChooser(Protocol):
    """A strategy's preference among the groups that can take a unit (best first)."""

    def order(self, members: Sequence[int], candidates: Ints, rooms: Rooms) -> Ints: ...

    def share(self, units: Sequence[Sequence[int]], candidates: Ints, rooms: Rooms) -> Ints:
        """A distinct group for each unit (as many candidates as units at least)."""
        ...

    def placed(self, members: Sequence[int], group: int, sign: int) -> None: ...


def describe(keys: Iterable[str]) -> str:
    """A set of member keys as the messages show it: {a, b, c}."""
    return "{" + ", ".join(sorted(keys)) + "}"


def _normalised(sets: Sequence[Sequence[str]]) -> list[list[str]]:
    return sorted(sorted(set(keys)) for keys in sets)


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def _pins(constraints: Constraints, roster: Roster, problems: list[str]) -> dict[int, int]:
    """Pinned member index -> target index, for the pins that name a member and a target."""
    pins: dict[int, int] = {}
    for key, target_key in sorted(constraints.pinned.items()):
        label = f"pinned {key} -> {target_key}"
        if key not in roster.index:
            problems.append(f"{label}: {key} is not a member of this request")
        elif target_key not in roster.target_index:
            problems.append(f"{label}: there is no target {target_key}")
        else:
            member, target = roster.index[key], roster.target_index[target_key]
            home = int(roster.home[member])
            if home >= 0 and home != target:
                problems.append(f"{label}: {key} is already in {roster.targets[home].key}")
            else:
                pins[member] = target
    return pins


def _units(together: list[list[int]], singles: set[int]) -> tuple[list[Unit], dict[int, int]]:
    """Merge the keep-together sets that share a member (union-find); `singles` get a unit each."""
    involved = sorted({m for members in together for m in members} | singles)
    position = {m: i for i, m in enumerate(involved)}
    links = list(range(len(involved)))
    for members in together:
        for other in members[1:]:
            a, b = _find(links, position[members[0]]), _find(links, position[other])
            if a != b:
                links[max(a, b)] = min(a, b)
    units: list[Unit] = []
    unit_of: dict[int, int] = {}
    unit_of_root: dict[int, int] = {}
    for i, m in enumerate(involved):  # ascending, so unit ids follow their smallest member's key
        root = _find(links, i)
        if root not in unit_of_root:
            unit_of_root[root] = len(units)
            units.append(Unit(members=[]))
        unit_of[m] = unit_of_root[root]
        units[unit_of[m]].members.append(m)
    return units, unit_of


def _anchor(units: list[Unit], pins: dict[int, int], roster: Roster, problems: list[str]) -> None:
    """Tie each unit to the target of its pins and existing members; refuse two targets."""
    keys, targets = roster.keys, roster.targets
    for unit in units:
        ties: dict[int, list[str]] = {}
        for m in unit.members:
            home = int(roster.home[m])
            if home >= 0:
                ties.setdefault(home, []).append(f"{keys[m]} is already in {targets[home].key}")
            elif m in pins:
                ties.setdefault(pins[m], []).append(f"{keys[m]} is pinned to {targets[pins[m]].key}")
        if len(ties) > 1:
            reasons = [ties[target][0] for target in sorted(ties)]
            members = describe(keys[m] for m in unit.members)
            problems.append(f"keep_together {members}: {' but '.join(reasons)}")
        elif ties:
            unit.anchor = next(iter(ties))


def _apart(
    apart: list[tuple[list[str], list[int]]],
    units: list[Unit],
    unit_of: dict[int, int],
    roster: Roster,
    problems: list[str],
) -> tuple[list[list[int]], list[list[str]]]:
    """Keep-apart sets as unit ids (and keys); refuse those that no grouping can honour."""
    keys, targets = roster.keys, roster.targets
    apart_sets: list[list[int]] = []
    apart_keys: list[list[str]] = []
    for keys_in_set, members in apart:
        label = f"keep_apart {describe(keys_in_set)}"
        by_unit: dict[int, list[str]] = {}
        for m in members:
            by_unit.setdefault(unit_of[m], []).append(keys[m])
        for held in by_unit.values():
            if len(held) > 1:
                problems.append(f"{label}: {describe(held)} must also be kept together")
        if len(members) > len(targets):
            problems.append(
                f"{label}: {len(members)} members must be in different groups, "
                f"but there are {len(targets)} groups"
            )
        by_target: dict[int, list[str]] = {}
        for u, held in by_unit.items():
            if units[u].anchor >= 0:
                by_target.setdefault(units[u].anchor, []).extend(held)
        for target, held in sorted(by_target.items()):
            if len(held) > 1 and len({unit_of[roster.index[k]] for k in held}) > 1:
                both = "both" if len(held) == 2 else "all"
                problems.append(f"{label}: {listed_and(held)} are {both} tied to {targets[target].key}")
        if len(by_unit) > 1:
            ids = sorted(by_unit)
            for u in ids:
                units[u].apart.append(len(apart_sets))
            apart_sets.append(ids)
            apart_keys.append(keys_in_set)
    return apart_sets, apart_keys


def read_rules(constraints: Constraints, roster: Roster) -> tuple[Rules, list[str]]:
    """The rules as units and keep-apart sets, and every problem that does not depend on room."""
    problems: list[str] = []

    def known(rule: str, keys_in_set: list[str]) -> list[int]:
        unknown = [k for k in keys_in_set if k not in roster.index]
        if unknown:
            problems.append(
                f"{rule} {describe(keys_in_set)}: {', '.join(unknown)} not a member of this request"
            )
        return [roster.index[k] for k in keys_in_set if k in roster.index]

    together = [known("keep_together", s) for s in _normalised(constraints.keep_together)]
    apart = [(s, known("keep_apart", s)) for s in _normalised(constraints.keep_apart)]
    pins = _pins(constraints, roster, problems)
    singles = set(pins) | {m for _, members in apart for m in members}
    units, unit_of = _units([members for members in together if len(members) > 1], singles)
    _anchor(units, pins, roster, problems)
    apart_sets, apart_keys = _apart(apart, units, unit_of, roster, problems)
    rules = Rules(units=units, unit_of=unit_of, apart_sets=apart_sets, apart_keys=apart_keys)
    return rules, capped(problems)


def left_out(roster: Roster, rules: Rules, room: int | None) -> npt.NDArray[np.bool_]:
    """Which new members to leave out when not all fit: the last in the seeded order.

    Members bound by no rule go first; then whole unanchored units (last seeded first) until
    enough are out, which may leave a group some room. Anchored members are never left out:
    if they do not fit, the room check refuses the request.
    """
    out = np.zeros(roster.count, dtype=np.bool_)
    if room is None or roster.count <= room:
        return out
    excess = roster.count - room
    bound = np.zeros(roster.count, dtype=np.bool_)
    bound[[m for m in rules.unit_of if m < roster.count]] = True
    loose = np.flatnonzero(~bound)
    loose = loose[np.argsort(-roster.rank[loose], kind="stable")]
    out[loose[:excess]] = True
    excess -= min(excess, len(loose))
    movable = [u for u in rules.units if u.anchor < 0 and u.new_members(roster.count)]
    movable.sort(key=lambda u: -min(int(roster.rank[m]) for m in u.members))
    for unit in movable:
        if excess <= 0:
            break
        new = unit.new_members(roster.count)
        out[new] = True
        excess -= len(new)
    return out


def listed_and(names: Sequence[str]) -> str:
    """a; a and b; a, b and c."""
    names = sorted(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def check_capacity(roster: Roster, rules: Rules, existing: Ints, capacities: Ints) -> list[str]:
    """Units that no group's capacity can hold, refused rather than left out."""
    if len(capacities) == 0 or (capacities == 0).any():
        return []
    room = np.maximum(capacities - existing, 0)
    largest = int(room.max())
    problems = []
    for unit in rules.units:
        new = unit.new_members(roster.count)
        if unit.anchor < 0 and len(new) > largest:
            label = describe(roster.keys[m] for m in unit.members)
            if len(capacities) == 1:
                where = f"group {roster.targets[0].key} has room for {largest}"
            else:
                where = f"no group has room for more than {largest} (capacities)"
            problems.append(f"keep_together {label}: {len(new)} members, but {where}")
    return capped(problems)


def _room_reason(roster: Roster, group: int, existing: int, placing: int) -> str:
    capacity = roster.targets[group].capacity
    if capacity and existing:
        return f"capacity {capacity}, {existing} already in it"
    if capacity:
        return f"capacity {capacity}"
    return f"sizes within one: {placing} members to place in {len(roster.targets)} groups"


def check_room(roster: Roster, rules: Rules, rooms: Rooms, existing: Ints, placing: Bools) -> list[str]:
    """Problems that depend on the common level: units tied to a target beyond its room, and
    units larger than any group may grow while sizes stay within one.
    """
    problems: list[str] = []
    keys, targets = roster.keys, roster.targets
    count = int(placing.sum())
    need = np.zeros(len(targets), dtype=np.int64)
    named: dict[int, list[str]] = {}
    for unit in rules.units:
        new = [m for m in unit.new_members(roster.count) if placing[m]]
        if unit.anchor >= 0 and new:
            need[unit.anchor] += len(new)
            named.setdefault(unit.anchor, []).extend(keys[m] for m in new)
    most = rooms.base + (rooms.flex if rooms.extras_left > 0 else 0)
    for group in np.flatnonzero(need > most).tolist():
        reason = _room_reason(roster, group, int(existing[group]), count)
        problems.append(
            f"pinned: {int(need[group])} new members must join {targets[group].key} "
            f"({listed_and(named[group])}), but it has room for {int(most[group])} ({reason})"
        )
    over = np.flatnonzero((need > rooms.base) & (need <= most)).tolist()
    if len(over) > rooms.extras_left:
        problems.append(
            f"pinned: {listed_and([targets[g].key for g in over])} would each hold one member more "
            f"than the other groups, but with {count} members to place only {rooms.extras_left} can"
        )
    if len(most) == 0:
        return capped(problems)
    biggest = int(np.argmax(most))
    largest = int(most[biggest])
    for unit in rules.units:
        new = [m for m in unit.new_members(roster.count) if placing[m]]
        if unit.anchor < 0 and len(new) > largest:
            label = describe(keys[m] for m in unit.members)
            reason = _room_reason(roster, biggest, int(existing[biggest]), count)
            if len(targets) == 1:
                where = f"group {targets[0].key} has room for {largest} ({reason})"
            else:
                where = f"no group has room for more than {largest} ({reason})"
            problems.append(f"keep_together {label}: {len(new)} members, but {where}")
    return capped(problems)


class _Placing:
    """The units' placement as it grows and backtracks: rooms, groups, keep-apart use."""

    def __init__(
        self,
        roster: Roster,
        rules: Rules,
        rooms: Rooms,
        group_of: Ints,
        placing: Bools,
        chooser: GroupChooser,
    ) -> None:
        self.roster, self.rules, self.rooms = roster, rules, rooms
        self.group_of, self.placing, self.chooser = group_of, placing, chooser
        self.used: list[dict[int, int]] = [{} for _ in rules.apart_sets]

    def placed_members(self, unit: Unit) -> list[int]:
        return [m for m in unit.members if self.placing[m]]

    def put(self, unit: Unit, group: int, sign: int) -> None:
        new = self.placed_members(unit)
        if sign > 0:
            self.rooms.take(group, len(new))
            self.group_of[new] = group
        else:
            self.rooms.release(group, len(new))
            self.group_of[new] = -1
        self.chooser.placed(new, group, sign)
        for s in unit.apart:
            self.used[s][group] = self.used[s].get(group, 0) + sign

    def candidates(self, unit: Unit) -> Ints:
        """The groups that can take `unit` now, best first."""
        fits = self.rooms.fits(len(self.placed_members(unit)))
        for s in unit.apart:
            for group, count in self.used[s].items():
                if count > 0:
                    fits[group] = False
        return self.chooser.order(unit.members, np.flatnonzero(fits), self.rooms)


def _search(state: _Placing, pending: list[Unit]) -> Unit | None:
    """Depth-first, best candidate first, backtracking within a step budget.

    Answers None when every unit is placed, else the first unit found with no place at all (or,
    when the budget ran out first, the one the search was at).
    """
    choices: list[Ints] = []
    tried: list[int] = []
    budget = max(SEARCH_STEPS_MIN, SEARCH_STEPS_PER_UNIT * len(pending))
    stuck: Unit | None = None
    depth = 0
    while depth < len(pending):
        unit = pending[depth]
        if len(choices) == depth:
            choices.append(state.candidates(unit))
            tried.append(0)
            if len(choices[depth]) == 0 and stuck is None:
                stuck = unit
        if tried[depth] > 0:
            state.put(unit, int(choices[depth][tried[depth] - 1]), -1)
        budget -= 1
        if tried[depth] < len(choices[depth]) and budget > 0:
            state.put(unit, int(choices[depth][tried[depth]]), +1)
            tried[depth] += 1
            depth += 1
            continue
        if budget <= 0 or depth == 0:
            return stuck or unit
        choices.pop()
        tried.pop()
        depth -= 1
    return None


def place_rules(
    roster: Roster, rules: Rules, rooms: Rooms, group_of: Ints, placing: Bools, chooser: GroupChooser
) -> None:
    """Place every unit: anchored ones in their target, then the others by a bounded search.

    Raises `Infeasible` naming the unit the search could place nowhere.
    """
    state = _Placing(roster, rules, rooms, group_of, placing, chooser)
    pending: list[Unit] = []
    for unit in rules.units:
        if unit.anchor >= 0:
            state.put(unit, unit.anchor, +1)
        elif state.placed_members(unit):
            pending.append(unit)
    pending.sort(
        key=lambda u: (
            -len(state.placed_members(u)),
            -len(u.apart),
            min(int(roster.rank[m]) for m in u.members),
        )
    )
    failed = _search(state, pending)
    if failed is not None:
        keys = [roster.keys[m] for m in failed.members]
        named = [f"keep_together {describe(keys)}"] if len(keys) > 1 else []
        named += [f"keep_apart {describe(rules.apart_keys[s])}" for s in failed.apart]
        who = describe(keys) if len(keys) > 1 else keys[0]
        raise Infeasible(
            [
                f"{' and '.join(named)}: no group can take {who} without breaking sizes within one, "
                "a capacity or a keep_apart rule"
            ]
        )
