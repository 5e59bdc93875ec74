"""Random formation: a seeded shuffle dealt into groups whose sizes differ by at most one.

The order depends only on the seed and the members' keys, never on the order they arrive in,
the database's row order or the Python version: each member is ranked by a keyed BLAKE2 hash
of its key. So a preview and a save with the same seed and roster give the same grouping.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

MAX_SEED = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Target:
    """A group to fill: its stable key and its capacity (0 = no limit)."""

    key: str
    capacity: int = 0


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who goes where; members that no group had room for are `unplaced`, never dropped."""

    seed: int
    groups: dict[str, list[str]] = field(default_factory=dict)
    unplaced: list[str] = field(default_factory=list)


def new_seed() -> int:
    """A fresh random seed, for callers that gave none."""
    return secrets.randbelow(MAX_SEED + 1)


def plan_sizes(member_count: int, capacities: Sequence[int]) -> list[int]:
    """Group sizes for `member_count` members: never above a capacity (0 = none), and differing
    by at most one among the groups that are not full; as many members placed as fit.
    """
    if not capacities:
        return []
    unlimited = any(c == 0 for c in capacities)
    room = member_count if unlimited else min(member_count, sum(capacities))

    def filled(level: int) -> int:
        return sum(level if c == 0 else min(c, level) for c in capacities)

    # The highest common level that does not overshoot; the remainder tops up groups with room.
    low, high = 0, room
    while low < high:
        middle = (low + high + 1) // 2
        if filled(middle) <= room:
            low = middle
        else:
            high = middle - 1
    sizes = [low if c == 0 else min(c, low) for c in capacities]
    remainder = room - sum(sizes)
    for i, capacity in enumerate(capacities):
        if remainder == 0:
            break
        if capacity == 0 or capacity > sizes[i]:
            sizes[i] += 1
            remainder -= 1
    return sizes


def seeded_order(keys: Sequence[str], seed: int) -> npt.NDArray[np.int64]:
    """The positions of `keys` in the seed's order: by the keyed 16-byte BLAKE2 digest of each key
    (compared as bytes, here as two big-endian words), so the same for the same seed and set of
    keys, whatever their order. Equal keys keep their order; distinct keys never tie in practice.
    """
    secret = seed.to_bytes(8, "big")
    digests = b"".join(hashlib.blake2b(k.encode(), key=secret, digest_size=16).digest() for k in keys)
    words = np.frombuffer(digests, dtype=">u8").reshape(-1, 2)
    return np.asarray(np.lexsort((words[:, 1], words[:, 0])), dtype=np.int64)


def shuffled(keys: Sequence[str], seed: int) -> list[str]:
    """`keys` in the seed's order (`seeded_order`)."""
    return [keys[i] for i in seeded_order(keys, seed).tolist()]


def random_assignment(members: Sequence[str], targets: Sequence[Target], seed: int) -> Assignment:
    """Deal the members, shuffled by `seed`, into the targets (taken in key order)."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be between 0 and {MAX_SEED}")
    ordered_targets = sorted(targets, key=lambda t: t.key)
    order = shuffled(list(dict.fromkeys(members)), seed)
    sizes = plan_sizes(len(order), [t.capacity for t in ordered_targets])
    groups: dict[str, list[str]] = {}
    start = 0
    for target, size in zip(ordered_targets, sizes, strict=True):
        groups[target.key] = order[start : start + size]
        start += size
    return Assignment(seed=seed, groups=groups, unplaced=order[start:])
