"""Query parameters of results' figures, the same on both surfaces."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from studentgroups.results.schemas import WireTime

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
