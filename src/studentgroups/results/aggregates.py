"""A group's figures from its members' results, computed by the database in one statement.

The figures are asked for sets of students: each set is the members of some groups (a group,
or a group with its sub-groups), keyed by a number. One statement reads the matching results
once (a CTE) and answers, for every set at once: the counts and the score figures, the
percentiles (`percentile_cont` on PostgreSQL; on SQLite the same linear interpolation between
ranked rows), the histogram of the members' mean scores, and each item's figures. No result is
loaded into Python: what comes back is a few rows per set.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Double,
    Integer,
    Select,
    String,
    case,
    cast,
    distinct,
    func,
    literal,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session

from studentgroups.groups.models import Membership
from studentgroups.results.models import Result
from studentgroups.results.schemas import DEFAULT_THRESHOLD, HISTOGRAM_BINS
from studentgroups.tenancy import scoped_columns

PERCENTILES = (0.25, 0.5, 0.75)
BIN_EPSILON = 1e-9
"""A mean this close below a bin's edge is on the edge: 0.3 is in bin 3 whatever the rounding."""


@dataclass(frozen=True, slots=True)
class ResultFilters:
    """Which results count: some items only (all when empty), a time window [since, until)."""

    items: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    threshold: float = DEFAULT_THRESHOLD


@dataclass(frozen=True, slots=True)
class ItemFigures:
    """One item's figures."""

    item: str
    result_count: int
    mean_score: float
    success_rate: float


@dataclass(slots=True)
class Figures:
    """A set's figures; the score figures are None when no result matches."""

    member_count: int = 0
    members_with_results: int = 0
    result_count: int = 0
    mean_score: float | None = None
    median_score: float | None = None
    p25_score: float | None = None
    p75_score: float | None = None
    min_score: float | None = None
    max_score: float | None = None
    sd_score: float | None = None
    success_rate: float | None = None
    histogram: list[int] = field(default_factory=lambda: [0] * HISTOGRAM_BINS)
    items: list[ItemFigures] = field(default_factory=list)


def _members(instance_id: int, sets: Mapping[int, Sequence[int]]) -> Select[Any]:
    """(set_key, student_id), each student once per set."""
    union: list[Select[Any]] = []
    for key, group_ids in sets.items():
        union.append(
            scoped_columns(Membership, instance_id, literal(key).label("set_key"), Membership.student_id)
            .where(Membership.group_id.in_(list(group_ids)))
            .distinct()
        )
    if len(union) == 1:
        return union[0]
    return union_all(*union)  # type: ignore[return-value]


def _floor(value: ColumnElement[Any], dialect: str) -> ColumnElement[int]:
    # PostgreSQL rounds a float cast to integer; SQLite truncates (the same as floor for x >= 0).
    return cast(func.floor(value) if dialect == "postgresql" else value, Integer)


def _percentiles(scored: Any, dialect: str) -> Select[Any]:
    """(set_key, p25, p50, p75) with linear interpolation (percentile_cont's definition)."""
    if dialect == "postgresql":
        ordered = type_coerce(
            func.percentile_cont(array(list(PERCENTILES))).within_group(scored.c.s), ARRAY(Double)
        ).label("pc")
        inner = select(scored.c.set_key, ordered).group_by(scored.c.set_key).subquery()
        pc = inner.c.pc
        return select(inner.c.set_key, *(pc[i + 1].label(f"p{i}") for i in range(len(PERCENTILES))))
    ranked = select(
        scored.c.set_key,
        scored.c.s,
        func.row_number().over(partition_by=scored.c.set_key, order_by=scored.c.s).label("rn"),
        func.count().over(partition_by=scored.c.set_key).label("n"),
    ).subquery()
    values = []
    for i, p in enumerate(PERCENTILES):
        position = (ranked.c.n - 1) * p + 1  # 1-based, fractional
        low = cast(position, Integer)  # positions are >= 1: the cast is a floor
        at_low = func.max(case((ranked.c.rn == low, ranked.c.s)))
        at_high = func.coalesce(func.max(case((ranked.c.rn == low + 1, ranked.c.s))), at_low)
        values.append((at_low + (func.max(position) - func.max(low)) * (at_high - at_low)).label(f"p{i}"))
    return select(ranked.c.set_key, *values).group_by(ranked.c.set_key)


def _statement(
    instance_id: int, sets: Mapping[int, Sequence[int]], filters: ResultFilters, dialect: str
) -> Select[Any]:
    members = _members(instance_id, sets).cte("members")
    conditions: list[ColumnElement[bool]] = []
    if filters.items:
        conditions.append(Result.item.in_(list(filters.items)))
    if filters.since is not None:
        conditions.append(Result.recorded_at >= filters.since)
    if filters.until is not None:
        conditions.append(Result.recorded_at < filters.until)
    scored = (
        scoped_columns(
            Result,
            instance_id,
            members.c.set_key,
            Result.student_id,
            Result.item,
            (Result.score / Result.max_score).label("s"),
        )
        .join(members, members.c.student_id == Result.student_id)
        .where(*conditions)
        .cte("scored")
    )
    s = scored.c.s
    success = func.avg(case((s >= filters.threshold, 1.0), else_=0.0))
    variance = func.var_pop(s) if dialect == "postgresql" else func.avg(s * s) - func.avg(s) * func.avg(s)
    percentiles = _percentiles(scored, dialect).subquery()
    none_f = cast(null(), Double)
    none_i = cast(null(), Integer)
    none_t = cast(null(), String)

    summary_inner = (
        select(
            scored.c.set_key,
            func.count().label("n"),
            func.count(distinct(scored.c.student_id)).label("with_results"),
            func.avg(s).label("mean"),
            func.min(s).label("lo"),
            func.max(s).label("hi"),
            variance.label("var"),
            success.label("success"),
        )
        .group_by(scored.c.set_key)
        .subquery()
    )
    summary = select(
        literal("summary").label("kind"),
        summary_inner.c.set_key,
        none_t.label("label"),
        summary_inner.c.n.label("n1"),
        summary_inner.c.with_results.label("n2"),
        summary_inner.c.mean.label("f1"),
        summary_inner.c.lo.label("f2"),
        summary_inner.c.hi.label("f3"),
        summary_inner.c.var.label("f4"),
        summary_inner.c.success.label("f5"),
        percentiles.c.p0.label("f6"),
        percentiles.c.p1.label("f7"),
        percentiles.c.p2.label("f8"),
    ).join(percentiles, percentiles.c.set_key == summary_inner.c.set_key)

    means = (
        select(scored.c.set_key, func.avg(s).label("m"))
        .group_by(scored.c.set_key, scored.c.student_id)
        .subquery()
    )
    last_bin = HISTOGRAM_BINS - 1
    bin_of = case(
        (means.c.m >= 1, last_bin),
        else_=_floor(means.c.m * HISTOGRAM_BINS + BIN_EPSILON, dialect),
    )
    bins_inner = (
        select(means.c.set_key, bin_of.label("bin"), func.count().label("n"))
        .group_by(means.c.set_key, bin_of)
        .subquery()
    )
    bins = select(
        literal("bin").label("kind"),
        bins_inner.c.set_key,
        none_t,
        bins_inner.c.bin,
        bins_inner.c.n,
        *([none_f] * 8),
    )
    per_item = select(
        literal("item").label("kind"),
        scored.c.set_key,
        scored.c.item,
        func.count(),
        none_i,
        func.avg(s),
        none_f,
        none_f,
        none_f,
        success,
        none_f,
        none_f,
        none_f,
    ).group_by(scored.c.set_key, scored.c.item)
    member_counts = select(
        literal("members").label("kind"),
        members.c.set_key,
        none_t,
        func.count(),
        none_i,
        *([none_f] * 8),
    ).group_by(members.c.set_key)
    return union_all(summary, bins, per_item, member_counts)  # type: ignore[return-value]


def figures_by_set(
    session: Session, *, instance_id: int, sets: Mapping[int, Sequence[int]], filters: ResultFilters
) -> dict[int, Figures]:
    """Each set's figures (every key of `sets` is in the answer), in one statement."""
    out = {key: Figures() for key in sets}
    if not sets:
        return out
    dialect = session.get_bind().dialect.name
    rows = session.execute(_statement(instance_id, sets, filters, dialect)).all()
    for kind, key, label, n1, n2, f1, f2, f3, f4, f5, f6, f7, f8 in rows:
        figures = out[key]
        if kind == "members":
            figures.member_count = n1
        elif kind == "bin":
            figures.histogram[n1] = n2
        elif kind == "item":
            figures.items.append(ItemFigures(item=label, result_count=n1, mean_score=f1, success_rate=f5))
        else:
            figures.result_count, figures.members_with_results = n1, n2
            figures.mean_score, figures.min_score, figures.max_score = f1, f2, f3
            figures.sd_score = math.sqrt(max(f4, 0.0))  # SQLite's variance may come out a hair below 0
            figures.success_rate = f5
            figures.p25_score, figures.median_score, figures.p75_score = f6, f7, f8
    for figures in out.values():
        figures.items.sort(key=lambda i: i.item)
    return out
