"""Query parameters of results' figures, the same on both surfaces, and the filters they make."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from studentgroups.results.aggregates import ResultFilters
from studentgroups.results.schemas import DEFAULT_THRESHOLD, WireTime
from studentgroups.results.service import result_filters

Items = Annotated[
    list[str] | None,
    Query(alias="item", max_length=100, description="Only these items (repeat the parameter for several)."),
]
Since = Annotated[
    WireTime | None, Query(alias="from", description="Only results obtained at or after this time (UTC).")
]
Until = Annotated[
    WireTime | None, Query(alias="to", description="Only results obtained before this time (UTC).")
]
Threshold = Annotated[
    float,
    Query(ge=0, le=1, description="A result succeeds when its normalised score is at least this (0 to 1)."),
]


def _filters(
    items: Items = None, since: Since = None, until: Until = None, threshold: Threshold = DEFAULT_THRESHOLD
) -> ResultFilters:
    return result_filters(items, since, until, threshold)


Filters = Annotated[ResultFilters, Depends(_filters)]
"""`item`, `from`, `to` and `threshold`, as the filters of a group's figures (`from` before `to`)."""
