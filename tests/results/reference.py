"""The figures of a set of results, computed the plain way in Python: what the database must answer."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BINS = 10


@dataclass(frozen=True)
class Scored:
    """One result of a member: who, on what, and the normalised score."""

    student: int
    item: str
    score: float
    max_score: float

    @property
    def normalised(self) -> float:
        return self.score / self.max_score


def percentile(ordered: Sequence[float], p: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    position = (len(ordered) - 1) * p
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def figures(results: Sequence[Scored], member_count: int, threshold: float = 0.5) -> dict[str, Any]:
    """The figures the API answers, from the results of the members (already filtered)."""
    scores = sorted(r.normalised for r in results)
    by_student: dict[int, list[float]] = defaultdict(list)
    by_item: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_student[r.student].append(r.normalised)
        by_item[r.item].append(r.normalised)
    histogram = [0] * BINS
    for member_scores in by_student.values():
        mean = statistics.fmean(member_scores)
        histogram[BINS - 1 if mean >= 1 else math.floor(mean * BINS + 1e-9)] += 1

    def success(values: Sequence[float]) -> float:
        return sum(v >= threshold for v in values) / len(values)

    empty = not scores
    return {
        "member_count": member_count,
        "members_with_results": len(by_student),
        "result_count": len(scores),
        "mean_score": None if empty else statistics.fmean(scores),
        "median_score": None if empty else percentile(scores, 0.5),
        "p25_score": None if empty else percentile(scores, 0.25),
        "p75_score": None if empty else percentile(scores, 0.75),
        "min_score": None if empty else scores[0],
        "max_score": None if empty else scores[-1],
        "sd_score": None if empty else statistics.pstdev(scores),
        "success_rate": None if empty else success(scores),
        "histogram": histogram,
        "items": [
            {
                "item": item,
                "result_count": len(values),
                "mean_score": statistics.fmean(values),
                "success_rate": success(values),
            }
            for item, values in sorted(by_item.items())
        ],
    }


def assert_figures_equal(answered: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, the floating-point figures to 1e-9."""
    assert set(expected) <= set(answered), set(expected) - set(answered)
    for key, value in expected.items():
        got = answered[key]
        if key == "items":
            assert [i["item"] for i in got] == [i["item"] for i in value]
            for got_item, item in zip(got, value, strict=True):
                assert_figures_equal(got_item, item)
        elif isinstance(value, float):
            assert got is not None, key
            assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9), (key, got, value)
        else:
            assert got == value, (key, got, value)
