"""Sections: the groups allotted to each section in proportion to its size, as Canvas's "group by
section" does; each group is then formed from its section's members alone (`engine`)."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


def allot(demand: Mapping[str, int], free: Sequence[str], fixed: Mapping[str, str]) -> dict[str, list[str]]:
    """Each section's targets: those `fixed` to it (target -> section: pinned members, members
    already there), then the `free` targets, in their order, shared so that each section's count
    comes as near as it can to its share of all the targets (its members to place over all of
    them), every section with members to place getting one at least. ValueError when there are
    fewer targets than such sections.
    """
    sections = sorted(demand)
    counts = {s: sum(1 for t in fixed.values() if t == s) for s in sections}
    needing = [s for s in sections if demand[s] > 0 and counts[s] == 0]
    if len(needing) > len(free):
        raise ValueError(f"{len(needing)} sections need a group each, and {len(free)} groups are free")
    for s in needing:
        counts[s] += 1
    total_demand = sum(demand.values())
    total = len(free) + len(fixed)
    quota = {s: total * demand[s] / total_demand if total_demand else 0.0 for s in sections}
    # The section furthest below its share takes the next group (the first by name on a tie).
    heap = [(counts[s] - quota[s], rank, s) for rank, s in enumerate(sections) if demand[s] > 0]
    heapq.heapify(heap)
    for _ in range(len(free) - len(needing) if heap else 0):
        _, rank, furthest = heapq.heappop(heap)
        counts[furthest] += 1
        heapq.heappush(heap, (counts[furthest] - quota[furthest], rank, furthest))
    allotted: dict[str, list[str]] = {s: [t for t, owner in fixed.items() if owner == s] for s in sections}
    position = 0
    for s in sections:
        extra = counts[s] - len(allotted[s])
        allotted[s] += list(free[position : position + extra])
        position += extra
    return allotted
