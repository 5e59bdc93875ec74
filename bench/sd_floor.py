"""How alike group SDs can be when every group mean is equal: an estimate, on bench/formation.py's rosters.

With every group's mean equal to the roster's, a group's sum of squared deviations is its own
members' sum, and a group holding a member z SDs out has at least (n / (n - 1)) z² (its other
n - 1 members must sum to -z). Taking the most extreme member of each group one per group (the
G largest |z|), and the rest spread as evenly as the total allows (water-filling), gives the
least spread of group SDs left. It is an estimate, not a proof (two extremes may share a group),
and the figure is its SD of group SDs ÷ seeded random's (mean of 20 random partitions).
Run: .venv/bin/python bench/sd_floor.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from formation import SEED, draw


def floor_ratio(students: int, size: int) -> float:
    scores, _ = draw(students, SEED)
    groups = students // size
    z = scores - scores.mean()
    total = float((z**2).sum())
    least = np.sort(np.abs(z))[::-1][:groups] ** 2 * size / (size - 1)
    low, high = 0.0, total
    for _ in range(200):  # the level c with sum(max(least, c)) = total
        level = (low + high) / 2
        low, high = (level, high) if np.maximum(least, level).sum() <= total else (low, level)
    sds = np.sqrt(np.maximum(least, low) / (size - 1))
    rng = np.random.default_rng(SEED)
    random_sd = np.mean(
        [
            np.std([scores[p[i * size : (i + 1) * size]].std(ddof=1) for i in range(groups)])
            for p in (rng.permutation(students) for _ in range(20))
        ]
    )
    return float(sds.std() / random_sd)


def main() -> None:
    print(json.dumps({"300 x 5": round(floor_ratio(300, 5), 3), "3000 x 5": round(floor_ratio(3000, 5), 3)}))


if __name__ == "__main__":
    main()
