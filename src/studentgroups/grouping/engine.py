"""`form_groups`: a request in, a formation and its quality report out.

Every strategy goes through the same steps, so the hard rules hold whatever the strategy:
1. check the request and read its rules (`Infeasible` lists every problem found);
2. when not everyone fits, leave out the last members in the seeded order (never a pinned one);
3. plan the room: groups filled to a common level, smallest first (`sizing.Rooms`);
4. place the members bound by rules (`constraints.place_rules`);
5. place the noIsolation minorities in pairs (`isolation.place_minorities`);
6. place everyone else: `random` deals them in the seeded order into the room left, groups in
   key order; `balanced` deals and exchanges (`balanced`).
With no rules, no existing members and no noIsolation, step 6 of `random` is exactly
`random_assignment`: the same seeded order, the same sizes, the same groups.

The report compares with the same request formed by `random` and the same seed, so its ratios
say what balancing bought on this very roster.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from studentgroups.grouping.balanced import (
    Balance,
    BalancedChooser,
    deal,
    default_spread_weight,
    improve,
    kplus_features,
    standardised,
)
from studentgroups.grouping.constraints import (
    GroupChooser,
    Rules,
    check_capacity,
    check_room,
    left_out,
    place_rules,
    read_rules,
)
from studentgroups.grouping.isolation import place_minorities
from studentgroups.grouping.model import (
    Constraints,
    Formation,
    FormationRequest,
    GroupPicture,
    Infeasible,
    Member,
    QualityReport,
)
from studentgroups.grouping.quality import categorical_quality, numeric_quality, sizes, violations
from studentgroups.grouping.random import seeded_order
from studentgroups.grouping.roster import Roster, build_roster, check_request
from studentgroups.grouping.sections import allot
from studentgroups.grouping.sizing import Rooms, common_level, total_room

Ints = npt.NDArray[np.int64]


class SeededChooser:
    """Random's choice for a unit: the emptiest groups, then a seeded rotation of the groups."""

    def __init__(self, rank: Ints, group_rank: Ints) -> None:
        self.rank = rank
        self.group_rank = group_rank

    def order(self, members: Sequence[int], candidates: Ints, rooms: Rooms) -> Ints:
        offset = int(self.rank[list(members)].min()) if len(members) else 0
        spin = (self.group_rank[candidates] + offset) % max(len(self.group_rank), 1)
        keys = (spin, -rooms.free()[candidates], rooms.needs_extra(len(members))[candidates])
        return candidates[np.lexsort(keys)]

    def share(self, units: Sequence[Sequence[int]], candidates: Ints, rooms: Rooms) -> Ints:
        """The groups with the most room, in the seeded order of groups."""
        keys = (self.group_rank[candidates], -rooms.free()[candidates])
        return candidates[np.lexsort(keys)[: len(units)]]

    def placed(self, members: Sequence[int], group: int, sign: int) -> None:
        """Random keeps no running state."""


def _codes_of_combinations(columns: list[Ints], length: int) -> Ints:
    """One code per distinct combination of the columns' values (0 when there are none)."""
    if not columns:
        return np.zeros(length, dtype=np.int64)
    _, inverse = np.unique(np.stack(columns, axis=1), axis=0, return_inverse=True)
    return np.asarray(inverse, dtype=np.int64).reshape(-1)


def _protected_codes(roster: Roster, attribute: int) -> Ints:
    """Each member's protected value of the attribute, or -1 for any value it does not protect:
    the exchanges may swap members of two unprotected values (F for M), never a protected one."""
    codes = roster.codes[attribute]
    return np.where(roster.protected[attribute][codes], codes, -1)


def _balance(
    request: FormationRequest, roster: Roster, rules: Rules, placing: npt.NDArray[np.bool_]
) -> Balance:
    spread = sorted(set(request.categorical) - set(request.no_isolation))
    isolated = sorted(set(request.no_isolation))
    names = roster.categorical_names
    movable = placing.copy()
    movable[list(rules.unit_of)] = False
    z = standardised(roster.numeric)
    weight = request.spread_weight
    if weight is None:
        weight = default_spread_weight(len(roster.keys), len(roster.targets))
    features, weights = kplus_features(roster.numeric, weight)
    return Balance(
        composite=z.sum(axis=1) if z.shape[1] else np.zeros(len(roster.keys)),
        features=features,
        weights=weights,
        categories=[roster.codes[names.index(n)] for n in spread],
        swap_class=_codes_of_combinations(
            [_protected_codes(roster, names.index(n)) for n in isolated], len(roster.keys)
        ),
        movable=movable,
    )


def _form(strategy: str, request: FormationRequest, roster: Roster, rules: Rules, group_rank: Ints) -> Ints:
    """Each member's target index (-1: left out) under `strategy`."""
    groups = len(roster.targets)
    existing = np.bincount(roster.home[roster.count :], minlength=groups).astype(np.int64)
    capacities = np.array([t.capacity for t in roster.targets], dtype=np.int64)
    if groups == 0:
        return roster.home.copy()
    problems = check_capacity(roster, rules, existing, capacities)
    if problems:
        raise Infeasible(problems)
    placing = np.zeros(len(roster.keys), dtype=np.bool_)
    placing[: roster.count] = ~left_out(roster, rules, total_room(existing, capacities))
    rooms = Rooms(*common_level(existing, capacities, int(placing.sum())))
    problems = check_room(roster, rules, rooms, existing, placing)
    if problems:
        raise Infeasible(problems)

    group_of = roster.home.copy()
    balance = _balance(request, roster, rules, placing) if strategy == "balanced" else None
    chooser: GroupChooser
    if balance is not None:
        balanced_chooser = BalancedChooser(balance.composite, group_rank)
        placed = group_of >= 0
        balanced_chooser.sums += np.bincount(
            group_of[placed], weights=balance.composite[placed], minlength=groups
        )
        chooser = balanced_chooser
    else:
        chooser = SeededChooser(roster.rank, group_rank)
    place_rules(roster, rules, rooms, group_of, placing, chooser)
    free = placing & (group_of < 0)
    attributes = [roster.categorical_names.index(n) for n in sorted(set(request.no_isolation))]
    place_minorities(roster, attributes, free, group_of, rooms, chooser)

    room = rooms.settle()
    rest = np.flatnonzero(free)
    if balance is None:
        ordered = rest[np.argsort(roster.rank[rest], kind="stable")]
        group_of[ordered] = np.repeat(np.arange(groups), room)
        return group_of
    deal(balance, rest, room, group_of, roster.rank, group_rank)
    return improve(balance, group_of, groups, request.seed)


def _section_rules(request: FormationRequest, section_of: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """Problems of rules that cross sections, and the targets pins and existing members tie to one."""
    problems: list[str] = []
    rules = request.constraints
    for keys in rules.keep_together:
        spanned = sorted({section_of[k] for k in keys if k in section_of})
        if len(spanned) > 1:
            problems.append(f"keep_together {', '.join(sorted(keys))}: in sections {', '.join(spanned)}")
    fixed: dict[str, str] = {}
    ties = [(t, m.key) for t, ms in request.existing.items() for m in ms]
    ties += [(target, key) for key, target in rules.pinned.items() if key in section_of]
    for target, key in sorted(ties):
        section = section_of[key]
        if fixed.setdefault(target, section) != section:
            problems.append(
                f"target {target}: holds or is pinned members of sections {fixed[target]} and {section}"
            )
    return problems, fixed


def _target_rank(roster: Roster, seed: int) -> Ints:
    """Each target's place in the seed's order of target keys (the order random deals in)."""
    rank = np.empty(len(roster.targets), dtype=np.int64)
    rank[seeded_order([t.key for t in roster.targets], seed)] = np.arange(len(roster.targets))
    return rank


@dataclass(frozen=True, slots=True)
class _Section:
    """One section's formation: its request (its members, targets and rules), read once."""

    request: FormationRequest
    roster: Roster
    rules: Rules
    group_rank: Ints


def _sections(request: FormationRequest, roster: Roster) -> list[_Section]:
    """The request split by section: the targets allotted in proportion to the sections' sizes,
    each section's rules restricted to it (`FormationRequest.sections`); Infeasible when a rule
    crosses sections or the targets are too few."""
    assert request.sections is not None
    attribute = roster.categorical_names.index(request.sections)
    codes, values = roster.codes[attribute], roster.values[attribute]
    section_of = {key: values[codes[i]] for i, key in enumerate(roster.keys)}
    problems, fixed = _section_rules(request, section_of)
    demand = dict(
        zip(values, np.bincount(codes[: roster.count], minlength=len(values)).tolist(), strict=True)
    )
    try:
        allotted = allot(demand, [t.key for t in roster.targets if t.key not in fixed], fixed)
    except ValueError as error:
        problems.append(f"sections: {error}")
    if problems:
        raise Infeasible(problems)
    by_key = {t.key: t for t in roster.targets}
    in_section: dict[str, list[Member]] = {}
    for member in request.members:
        in_section.setdefault(section_of[member.key], []).append(member)
    rules = request.constraints
    parts: list[_Section] = []
    for section, keys in allotted.items():
        existing = {t: ms for t, ms in request.existing.items() if t in keys}
        # The section's rules bind its members to place and those already in its targets alike.
        mine = {m.key for m in in_section.get(section, [])} | {m.key for ms in existing.values() for m in ms}
        sub = dataclasses.replace(
            request,
            members=in_section.get(section, []),
            targets=[by_key[k] for k in keys],
            existing=existing,
            constraints=Constraints(
                keep_together=[s for s in rules.keep_together if set(s) & mine],
                keep_apart=[[k for k in s if k in mine] for s in rules.keep_apart if len(set(s) & mine) > 1],
                pinned={k: t for k, t in rules.pinned.items() if k in mine},
            ),
            sections=None,
        )
        sub_roster, _ = build_roster(sub)
        sub_rules, sub_problems = read_rules(sub.constraints, sub_roster)
        if sub_problems:
            raise Infeasible(sub_problems)
        parts.append(_Section(sub, sub_roster, sub_rules, _target_rank(sub_roster, request.seed)))
    return parts


def _form_sections(strategy: str, parts: Sequence[_Section], roster: Roster) -> Ints:
    """Each member's target index, each section formed on its own under `strategy`."""
    group_of = roster.home.copy()
    for part in parts:
        placed = _form(strategy, part.request, part.roster, part.rules, part.group_rank)
        for i in np.flatnonzero(placed[: part.roster.count] >= 0).tolist():
            target = part.roster.targets[placed[i]].key
            group_of[roster.index[part.roster.keys[i]]] = roster.target_index[target]
    return group_of


def form_groups(request: FormationRequest) -> Formation:
    """Form groups for `request` (see the module docstring); raises `Infeasible` with every problem.

    Deterministic for a seed and independent of the order of members, targets, rule lists and
    values: everything is indexed by key first, and ties are broken by the seeded BLAKE2 order.
    """
    started = time.perf_counter()
    roster, rules = _checked(request)
    group_rank = _target_rank(roster, request.seed)
    parts = None if request.sections is None else _sections(request, roster)

    def form(strategy: str) -> Ints:
        if parts is None:
            return _form(strategy, request, roster, rules, group_rank)
        return _form_sections(strategy, parts, roster)

    group_of = form(request.strategy)
    baseline: Ints | None = group_of
    if request.strategy != "random":
        try:
            baseline = form("random")
        except Infeasible:
            baseline = None

    count = roster.count
    new_groups = group_of[:count]
    order = np.lexsort((roster.rank[:count], new_groups))
    bounds = np.searchsorted(new_groups[order], np.arange(-1, len(roster.targets) + 1))
    keys = roster.keys
    unplaced = [keys[i] for i in order[bounds[0] : bounds[1]]]
    groups = {
        target.key: [keys[i] for i in order[bounds[t + 1] : bounds[t + 2]]]
        for t, target in enumerate(roster.targets)
    }
    return Formation(
        groups=groups, unplaced=unplaced, report=_report(request, roster, group_of, baseline, started)
    )


def assess(request: FormationRequest, groups: Mapping[str, Sequence[str]]) -> QualityReport:
    """The quality report of a grouping made or changed by hand (a preview after staff moved
    members): `groups` gives each target's new members by key (a member named nowhere is
    unplaced; the existing ones stay where they are), measured as `form_groups` measures its
    own, against the same seeded random formation; its `violations` count the request's rules
    and the groups' limits, not uneven sizes (staff may want them). Infeasible when a key is not
    the request's, or a member is named twice."""
    started = time.perf_counter()
    roster, rules = _checked(request)
    group_of = roster.home.copy()
    problems: list[str] = []
    seen: set[str] = set()
    for target_key, members in groups.items():
        target = roster.target_index.get(target_key)
        if target is None:
            problems.append(f"groups: {target_key!r} is not one of the targets")
            continue
        for key in members:
            index = roster.index.get(key)
            if index is None or index >= roster.count:
                problems.append(f"groups.{target_key}: {key!r} is not a member to place")
            elif key in seen:
                problems.append(f"groups.{target_key}: {key!r} is in two groups")
            else:
                seen.add(key)
                group_of[index] = target
    if problems:
        raise Infeasible(problems)
    parts = None if request.sections is None else _sections(request, roster)
    try:
        if parts is None:
            baseline: Ints | None = _form(
                "random", request, roster, rules, _target_rank(roster, request.seed)
            )
        else:
            baseline = _form_sections("random", parts, roster)
    except Infeasible:
        baseline = None
    report = _report(request, roster, group_of, baseline, started, even_sizes=False)
    return dataclasses.replace(report, strategy=f"{request.strategy}, adjusted")


def pictures(request: FormationRequest, groups: Mapping[str, Sequence[str]]) -> list[GroupPicture]:
    """Each target of a grouping (as `assess` reads it) as a preview draws it, in key order:
    sizes, means (missing values imputed as the engine imputes them), value counts, and the
    members alone with a protected value (what the report's `isolated` counts)."""
    roster, _ = _checked(request)
    group_of = roster.home.copy()
    for target_key, members in groups.items():
        target = roster.target_index[target_key]
        for key in members:
            group_of[roster.index[key]] = target
    count = len(roster.targets)
    placed = group_of >= 0
    size = np.bincount(group_of[placed], minlength=count)
    means: list[dict[str, float | None]] = [{} for _ in range(count)]
    for a, name in enumerate(roster.numeric_names):
        sums = np.bincount(group_of[placed], weights=roster.numeric[placed, a], minlength=count)
        for t in range(count):
            means[t][name] = float(sums[t] / size[t]) if size[t] else None
    counts: list[dict[str, dict[str, int]]] = [{} for _ in range(count)]
    isolated: list[list[str]] = [[] for _ in range(count)]
    for a, name in enumerate(roster.categorical_names):
        codes = roster.codes[a]
        table = np.zeros((count, len(roster.values[a])), dtype=np.int64)
        np.add.at(table, (group_of[placed], codes[placed]), 1)
        for t in range(count):
            counts[t][name] = {roster.values[a][v]: int(n) for v, n in enumerate(table[t]) if n}
        if name in request.no_isolation or name in request.categorical:
            alone = (table[group_of, codes] == 1) & roster.protected[a][codes] & placed
            for i in np.flatnonzero(alone):
                isolated[int(group_of[i])].append(roster.keys[i])
    return [
        GroupPicture(
            key=t.key, size=int(size[i]), means=means[i], counts=counts[i], isolated=sorted(set(isolated[i]))
        )
        for i, t in enumerate(roster.targets)
    ]


def _checked(request: FormationRequest) -> tuple[Roster, Rules]:
    """The request as a roster and its rules, or Infeasible with every problem of both."""
    problems = check_request(request)
    if problems:
        raise Infeasible(problems)
    roster, problems = build_roster(request)
    rules, rule_problems = read_rules(request.constraints, roster)
    if problems + rule_problems:
        raise Infeasible(problems + rule_problems)
    return roster, rules


def _report(
    request: FormationRequest,
    roster: Roster,
    group_of: Ints,
    baseline: Ints | None,
    started: float,
    *,
    even_sizes: bool = True,
) -> QualityReport:
    return QualityReport(
        sizes=[int(s) for s in sizes(group_of, len(roster.targets))],
        numeric=numeric_quality(roster, request.numeric, group_of, baseline),
        categorical=categorical_quality(roster, [*request.categorical, *request.no_isolation], group_of),
        violations=violations(roster, request.constraints, group_of, request.sections, even_sizes=even_sizes),
        seed=request.seed,
        strategy=request.strategy,
        runtime_ms=round((time.perf_counter() - started) * 1000, 3),
    )
