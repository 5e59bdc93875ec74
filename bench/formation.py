"""Balanced formation against seeded random, on the same rosters in the same run (no database).

The rosters of issue 16, as the anticlust comparison drew them: `score` ~ N(65, 12) and `gender`
F/M/X 48/48/4 %, from a seeded generator. Each case balances `score` and protects X from
isolation (noIsolation on `gender`, X named); it is formed by `balanced`, and the report's
ratios compare it with seeded random on the same request in the same call.

Figures per case:
- means: SD of the group means of `score` ÷ random's; SDs: SD of the group SDs ÷ random's;
- x_alone: groups holding exactly one X (0 wherever the numbers allow);
- engine_cpu_s: CPU seconds of `form_groups` (the balanced formation and the random one its
  report compares with), median of the runs;
- `sections`: the 100,000 roster as 200 sections of 500, each formed on its own into 25 groups
  of 20, CPU of all 200 calls; and `one_request`, the same as one request naming the section
  (`FormationRequest.sections`: the engine shares the groups among the sections).
The 1,000,000 case (`--only 1m`) runs `studentgroups form` on a CSV of the roster in a process
of its own and reports that process's CPU seconds and peak RSS.

Aims (issue 16): means ≤ 0.0084 (300), ≤ 0.0012 (3k), ≤ 0.002 (20k, 100k); SDs ≤ 0.25 at groups
of 5, ≤ 0.009 at groups of 20; x_alone 0; 100k ≤ 3 s of engine CPU, by sections ≤ 5 s; 1M
≤ 30 s CPU and ≤ 600 MB peak for the whole command.
(`form`'s start-up before the engine: bench/cli_start.py.)
CPU seconds on this shared machine vary from day to day (the same code: 24.6 s for the million
one day, 47.7 s the next), so each run also reports `reference_cpu_s`, the CPU of a fixed
workload (a seeded sort of 10,000,000 floats and a 5,000,000-step Python loop, median of 3):
figures of two runs compare after dividing by it.
Run: .venv/bin/python bench/formation.py [--runs 1] [--only 300|3k|20k|100k|sections|1m]
                                         [--objective means|means_and_spreads|WEIGHT]
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from studentgroups.grouping import Formation, FormationRequest, Member, Target, form_groups, spread_weight_of

CASES = {
    "300": (300, 60),
    "3k": (3_000, 600),
    "20k": (20_000, 1_000),
    "100k": (100_000, 5_000),
}
SECTIONS = 200
SEED = 20_261_201
AIMS: dict[str, dict[str, float]] = {
    "300": {"means": 0.0084, "sds": 0.25, "x_alone": 0},
    "3k": {"means": 0.0012, "sds": 0.25, "x_alone": 0},
    "20k": {"means": 0.002, "sds": 0.009, "x_alone": 0},
    "100k": {"means": 0.002, "sds": 0.009, "x_alone": 0, "engine_cpu_s": 3.0},
    "sections": {"x_alone": 0, "engine_cpu_s": 5.0},
    "1m": {"cpu_s": 30.0, "peak_rss_mb": 600.0},
}


def draw(students: int, seed: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(65.0, 12.0, students), 2)
    genders = rng.choice(np.array(["F", "M", "X"]), size=students, p=[0.48, 0.48, 0.04])
    return scores, genders


def roster(students: int, seed: int, prefix: str = "s") -> list[Member]:
    scores, genders = draw(students, seed)
    return [
        Member(
            key=f"{prefix}{i:07d}",
            numeric={"score": float(scores[i])},
            categorical={"gender": str(genders[i])},
        )
        for i in range(students)
    ]


def request(members: list[Member], groups: int, objective: str | None, prefix: str = "G") -> FormationRequest:
    extra: dict[str, Any] = {}
    if objective is not None:
        extra["spread_weight"] = spread_weight_of(objective)
    return FormationRequest(
        members=members,
        targets=[Target(key=f"{prefix}{i:05d}") for i in range(groups)],
        strategy="balanced",
        seed=SEED,
        numeric=["score"],
        categorical=[],
        no_isolation=["gender"],
        protected={"gender": ["X"]},
        **extra,
    )


def x_alone(formation: Formation, members: list[Member]) -> int:
    gender = {m.key: m.categorical["gender"] for m in members}
    return sum(1 for keys in formation.groups.values() if sum(gender[k] == "X" for k in keys) == 1)


def measured(req: FormationRequest, runs: int) -> tuple[Formation, float]:
    cpu: list[float] = []
    formation = None
    for _ in range(runs):
        start = time.process_time()
        formation = form_groups(req)
        cpu.append(time.process_time() - start)
    assert formation is not None
    return formation, statistics.median(cpu)


def run_case(case: str, runs: int, objective: str | None) -> dict[str, Any]:
    students, groups = CASES[case]
    members = roster(students, SEED)
    formation, cpu = measured(request(members, groups, objective), runs)
    score = formation.report.numeric[0]
    return {
        "students": students,
        "groups": groups,
        "means": round(score.sd_of_means_ratio or 0.0, 5),
        "sds": round(score.sd_of_sds_ratio or 0.0, 4),
        "x_alone": x_alone(formation, members),
        "sizes": sorted(set(formation.report.sizes)),
        "engine_cpu_s": round(cpu, 3),
    }


def run_sections(runs: int, objective: str | None) -> dict[str, Any]:
    students, groups = CASES["100k"]
    per, groups_per = students // SECTIONS, groups // SECTIONS
    sections = [roster(per, SEED + s, prefix=f"s{s:03d}-") for s in range(SECTIONS)]
    requests = [request(m, groups_per, objective, prefix=f"G{s:03d}-") for s, m in enumerate(sections)]
    cpu: list[float] = []
    for _ in range(runs):
        start = time.process_time()
        formed = [form_groups(r) for r in requests]
        cpu.append(time.process_time() - start)
    # The same as one request naming the section (FormationRequest.sections): the engine shares
    # the 5,000 groups among the sections and forms each on its own.
    tagged = [
        Member(key=m.key, numeric=m.numeric, categorical={**m.categorical, "section": f"S{s:03d}"})
        for s, ms in enumerate(sections)
        for m in ms
    ]
    one = dataclasses.replace(request(tagged, groups, objective), sections="section")
    start = time.process_time()
    together = form_groups(one)
    one_cpu = time.process_time() - start
    means = [f.report.numeric[0].sd_of_means_ratio or 0.0 for f in formed]
    sds = [f.report.numeric[0].sd_of_sds_ratio or 0.0 for f in formed]
    return {
        "sections": SECTIONS,
        "students": students,
        "groups": groups,
        "means_median": round(statistics.median(means), 5),
        "sds_median": round(statistics.median(sds), 4),
        "x_alone": sum(x_alone(f, m) for f, m in zip(formed, sections, strict=True)),
        "engine_cpu_s": round(statistics.median(cpu), 3),
        "one_request": {
            "means": round(together.report.numeric[0].sd_of_means_ratio or 0.0, 5),
            "sds": round(together.report.numeric[0].sd_of_sds_ratio or 0.0, 4),
            "x_alone": x_alone(together, tagged),
            "engine_cpu_s": round(one_cpu, 3),
        },
    }


def run_million(objective: str | None) -> dict[str, Any]:
    students, groups = 1_000_000, 50_000
    scores, genders = draw(students, SEED)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        with path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["uid", "score", "gender"])
            writer.writerows((f"s{i:07d}", f"{scores[i]:.2f}", genders[i]) for i in range(students))
        command = [
            str(Path(sys.executable).with_name("studentgroups")),
            "form",
            str(path),
            "--groups",
            str(groups),
            "--strategy",
            "balanced",
            "--numeric",
            "score",
            "--no-isolation",
            "gender",
            "--protect",
            "gender=X",
            "--seed",
            str(SEED),
            "--output",
            str(Path(folder) / "groups.csv"),
        ]
        if objective is not None:
            command += ["--objective", objective]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, capture_output=True, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "students": students,
        "groups": groups,
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(after.ru_maxrss / 1024, 1),  # the largest child: this one
    }


def reference_cpu() -> float:
    """CPU seconds of a fixed workload: how fast this machine is in this run."""
    values = np.random.default_rng(SEED).random(10_000_000)
    times = []
    for _ in range(3):
        start = time.process_time()
        np.sort(values)
        total = 0
        for i in range(5_000_000):
            total += i
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", choices=[*CASES, "sections", "1m"], action="append")
    parser.add_argument(
        "--objective", help="means, means_and_spreads, or the weight of the spreads from 0 to 1"
    )
    args = parser.parse_args()
    cases = args.only or [*CASES, "sections"]
    results: dict[str, Any] = {"reference_cpu_s": round(reference_cpu(), 3)}
    print("reference_cpu_s", results["reference_cpu_s"], file=sys.stderr)
    for case in cases:
        if case == "sections":
            results[case] = run_sections(args.runs, args.objective)
        elif case == "1m":
            results[case] = run_million(args.objective)
        else:
            results[case] = run_case(case, args.runs, args.objective)
        results[case]["aims"] = AIMS[case]
        print(case, json.dumps(results[case]), file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "formation",
                "seed": SEED,
                "objective": args.objective,
                "python_max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                **results,
            }
        )
    )


if __name__ == "__main__":
    main()
