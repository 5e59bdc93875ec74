"""Balanced formation against seeded random, on the same rosters in the same run (no database).

Rosters: a numeric `score` (normal, mean 0.6, SD 0.2, clipped to [0, 1]) and two categorical
attributes, `gender` (three values, 48/47/5 %) and `section` ("main" 96 %, "evening" 4 %), drawn
from a seeded generator. Each case balances `score`, spreads `gender` and `section`, and asks
noIsolation for `section`; it is formed by `balanced` and by `random` (same seed, same rules),
and once by `random` without noIsolation, to show the isolated members it would leave.
Figures per case: SD of group means and SD of group SDs of `score` with their ratios to random's,
the largest categorical deviation, the isolated minority members, the runtime (median of the
runs, after one warm-up) and the peak memory of `form_groups` (tracemalloc, and the max RSS of a
fresh process that builds the roster and forms the groups once).
Aims: means ratio <= 0.05 (both cases), SDs ratio <= 0.1 (big case), isolated 0, < 2 s and
< 5 s, < 500 MB.
Run: .venv/bin/python bench/formation.py [--runs 3] [--only small|big]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from typing import Any

import numpy as np

from studentgroups.grouping import (
    Formation,
    FormationRequest,
    Member,
    Target,
    form_groups,
)

CASES = {"small": (3_000, 600), "big": (100_000, 5_000)}
SEED = 20_261_201
AIMS = {
    "small": {"sd_of_means_ratio": 0.05, "isolated": 0, "seconds": 2},
    "big": {"sd_of_means_ratio": 0.05, "sd_of_sds_ratio": 0.1, "isolated": 0, "seconds": 5, "peak_mb": 500},
}


def roster(students: int, seed: int) -> list[Member]:
    """A seeded roster: score, gender (3 values), section (a 4 % minority)."""
    rng = np.random.default_rng(seed)
    scores = np.clip(rng.normal(0.6, 0.2, students), 0.0, 1.0)
    genders = rng.choice(["female", "male", "other"], size=students, p=[0.48, 0.47, 0.05])
    sections = rng.choice(["main", "evening"], size=students, p=[0.96, 0.04])
    return [
        Member(
            key=f"s{i:06d}",
            numeric={"score": float(scores[i])},
            categorical={"gender": str(genders[i]), "section": str(sections[i])},
        )
        for i in range(students)
    ]


def request(members: list[Member], groups: int, strategy: str) -> FormationRequest:
    return FormationRequest(
        members=members,
        targets=[Target(key=f"G{i:05d}", capacity=0) for i in range(groups)],
        strategy="balanced" if strategy == "balanced" else "random",
        seed=SEED,
        numeric=["score"],
        categorical=["gender", "section"],
        no_isolation=["section"],
    )


def figures(formation: Formation) -> dict[str, Any]:
    report = formation.report
    score = report.numeric[0]
    by_name = {c.attribute: c for c in report.categorical}
    return {
        "sd_of_means": round(score.sd_of_means, 6),
        "sd_of_means_ratio": None if score.sd_of_means_ratio is None else round(score.sd_of_means_ratio, 4),
        "range_of_means": round(score.range_of_means, 6),
        "sd_of_sds": round(score.sd_of_sds, 6),
        "sd_of_sds_ratio": None if score.sd_of_sds_ratio is None else round(score.sd_of_sds_ratio, 4),
        "largest_deviation_gender": round(by_name["gender"].largest_deviation, 3),
        "largest_deviation_section": round(by_name["section"].largest_deviation, 3),
        "isolated_section": by_name["section"].isolated,
        "isolated_gender": by_name["gender"].isolated,
        "sizes": sorted(set(report.sizes)),
        "violations": report.violations,
        "unplaced": len(formation.unplaced),
    }


def memory(case: str) -> dict[str, float]:
    """Peak memory of one balanced formation, measured in a fresh process."""
    code = (
        "import json, resource, tracemalloc, sys; sys.path.insert(0, 'bench');"
        "import formation as b;"
        f"students, groups = b.CASES[{case!r}];"
        "members = b.roster(students, b.SEED);"
        "req = b.request(members, groups, 'balanced');"
        "tracemalloc.start(); b.form_groups(req); peak = tracemalloc.get_traced_memory()[1];"
        "print(json.dumps({'tracemalloc_peak_mb': peak / 2**20,"
        " 'process_max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    values: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return {k: round(v, 1) for k, v in values.items()}


def run_case(case: str, runs: int) -> dict[str, Any]:
    students, groups = CASES[case]
    members = roster(students, SEED)
    result: dict[str, Any] = {"students": students, "groups": groups}
    for strategy in ("random", "balanced"):
        req = request(members, groups, strategy)
        form_groups(req)  # warm-up
        times, formation = [], None
        for _ in range(runs):
            start = time.perf_counter()
            formation = form_groups(req)
            times.append(time.perf_counter() - start)
        assert formation is not None
        result[strategy] = {**figures(formation), "seconds": round(statistics.median(times), 3)}
    # What noIsolation buys: seeded random without it (exactly `random_assignment`).
    plain = form_groups(replace(request(members, groups, "random"), no_isolation=[]))
    result["random_without_no_isolation"] = {
        "isolated_section": {q.attribute: q.isolated for q in plain.report.categorical}["section"]
    }
    result["balanced"].update(memory(case))
    result["aims"] = AIMS[case]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    cases = [args.only] if args.only else list(CASES)
    results = {case: run_case(case, args.runs) for case in cases}
    for case, figures_of_case in results.items():
        print(case, json.dumps(figures_of_case), file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "formation",
                "seed": SEED,
                "python_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
