"""An independent reading of a formation against its request: the tests' own checker.

Written from the rules as the engine documents them, without any of the engine's code, so that a
bug in the engine (or in its own violation count) cannot hide behind itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from studentgroups.grouping import Formation, FormationRequest


def totals(request: FormationRequest, groups: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Members per target, existing and new."""
    return {t.key: len(request.existing.get(t.key, ())) + len(groups.get(t.key, ())) for t in request.targets}


def _size_rules(request: FormationRequest, groups: Mapping[str, Sequence[str]]) -> list[str]:
    """Capacities, and no group that took new members more than one above a group with room (with
    sections, a group of its own section: each is formed on its own)."""
    broken: list[str] = []
    total = totals(request, groups)
    capacity = {t.key: t.capacity for t in request.targets}
    for key, size in total.items():
        if capacity[key] and size > capacity[key] and groups.get(key):
            broken.append(f"{key} over capacity")
    for keys in _alike(request, groups):
        with_room = [total[k] for k in keys if capacity[k] == 0 or total[k] < capacity[k]]
        if not with_room:
            continue
        lowest = min(with_room)
        for key in keys:
            if groups.get(key) and total[key] > lowest + 1:
                broken.append(f"{key} holds {total[key]}, more than one above a group with room ({lowest})")
    return broken


def _alike(request: FormationRequest, groups: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The targets whose sizes are compared: all of them; with sections, those of each section
    (a target's section is its members'; one with none belongs to none)."""
    if request.sections is None:
        return [[t.key for t in request.targets]]
    name = request.sections
    section = {m.key: m.categorical.get(name, "") for m in request.members}
    section.update({m.key: m.categorical.get(name, "") for ms in request.existing.values() for m in ms})
    by_section: dict[str, list[str]] = {}
    for target in request.targets:
        keys = [*groups.get(target.key, ()), *(m.key for m in request.existing.get(target.key, ()))]
        if keys:
            by_section.setdefault(section[keys[0]], []).append(target.key)
    return list(by_section.values())


def broken_rules(
    request: FormationRequest, groups: Mapping[str, Sequence[str]], unplaced: Sequence[str]
) -> list[str]:
    """Every hard rule the grouping breaks (an empty list when it is sound)."""
    broken: list[str] = []
    new_keys = [m.key for m in request.members]
    placed = [k for members in groups.values() for k in members]
    if sorted(placed + list(unplaced)) != sorted(new_keys):
        broken.append("not every member placed exactly once or left out")
    if sorted(groups) != sorted(t.key for t in request.targets):
        broken.append("groups are not exactly the targets")
    broken += _size_rules(request, groups)
    where = {k: g for g, members in groups.items() for k in members}
    where.update({m.key: g for g, members in request.existing.items() for m in members})
    rules = request.constraints
    for key, target in rules.pinned.items():
        if where.get(key) != target:
            broken.append(f"{key} not in {target}")
    for keys in rules.keep_together:
        if len({where.get(k) for k in keys}) > 1:
            broken.append(f"{sorted(keys)} not together")
    for keys in rules.keep_apart:
        held = [where[k] for k in set(keys) if k in where]
        if len(held) != len(set(held)):
            broken.append(f"{sorted(set(keys))} not apart")
    return broken


def check(request: FormationRequest, formation: Formation) -> list[str]:
    """`broken_rules` for a formation, plus a report that must agree on sizes and violations."""
    broken = broken_rules(request, formation.groups, formation.unplaced)
    if list(formation.groups) != sorted(formation.groups):
        broken.append("groups not in target key order")
    sizes = totals(request, formation.groups)
    if formation.report.sizes != [sizes[k] for k in sorted(sizes)]:
        broken.append("report sizes differ")
    if formation.report.violations != 0:
        broken.append(f"report counts {formation.report.violations} violations")
    return broken


def isolated(request: FormationRequest, formation: Formation, attribute: str) -> int:
    """Members alone in their group with a protected value (the values the request names for the
    attribute, else those held by fewer than `minority_share` of the members), counting only
    values held by two members or more (one member alone cannot be helped).
    """
    value = {m.key: m.categorical.get(attribute, "") for m in request.members}
    for members in request.existing.values():
        value.update({m.key: m.categorical.get(attribute, "") for m in members})
    tally = Counter(value.values())
    if attribute in request.protected:
        protected = set(request.protected[attribute])
    else:
        protected = {v for v, n in tally.items() if n < request.minority_share * len(value)}
    alone = 0
    for target in request.targets:
        keys = [m.key for m in request.existing.get(target.key, ())] + formation.groups[target.key]
        counts = Counter(value[k] for k in keys)
        alone += sum(1 for v, n in counts.items() if n == 1 and v in protected and tally[v] >= 2)
    return alone
