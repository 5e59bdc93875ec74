"""Query parameters of results' figures, the same on both surfaces, and the filters they make."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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


@dataclass(frozen=True, slots=True)
class FilterQuery:
    """`item`, `from`, `to` and `threshold` as the request sent them; `checked()` makes them the
    figures' filters (a 400 when `from` is not before `to`), once the route has found its group,
    so that a group the caller may not see is a 404 or 403 first, as on any route."""

    items: list[str] | None
    since: datetime | None
    until: datetime | None
    threshold: float

    def checked(self) -> ResultFilters:
        return result_filters(self.items, self.since, self.until, self.threshold)


def _filters(
    items: Items = None, since: Since = None, until: Until = None, threshold: Threshold = DEFAULT_THRESHOLD
) -> FilterQuery:
    return FilterQuery(items, since, until, threshold)


Filters = Annotated[FilterQuery, Depends(_filters)]
"""The figures' filters a request asks for (`FilterQuery`), documented as its query parameters."""
