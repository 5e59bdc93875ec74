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

from studentgroups.results.schemas import DEFAULT_THRESHOLD, HISTOGRAM_BINS
from studentgroups.tables.groups import Membership
from studentgroups.tables.results import Result
from studentgroups.tenancy import scoped_columns

PERCENTILES = (0.25, 0.5, 0.75)
ONE, ZERO = cast(1.0, Double), cast(0.0, Double)  # a bare 1.0 is NUMERIC to PostgreSQL: slow to average
COMPARISON_WORK_MEM = "64MB"
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


def _ranked_percentiles(scored: Any) -> Select[Any]:
    """(set_key, p25, p50, p75) for SQLite: percentile_cont's linear interpolation between the
    ranked rows around each position."""
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


def _summary(scored: Any, threshold: float, dialect: str) -> Select[Any]:
    """Per set: kind 'summary', result count, mean, min, max, variance, success rate, percentiles."""
    s = scored.c.s
    success = func.avg(case((s >= threshold, ONE), else_=ZERO))
    head = (literal("summary").label("kind"), scored.c.set_key, cast(null(), String), func.count())
    if dialect == "postgresql":
        # One pass: the plain aggregates and percentile_cont side by side, per set.
        pc = type_coerce(func.percentile_cont(array(list(PERCENTILES))).within_group(s), ARRAY(Double))
        inner = (
            select(
                scored.c.set_key,
                func.count().label("n"),
                func.avg(s).label("mean"),
                func.min(s).label("lo"),
                func.max(s).label("hi"),
                func.var_pop(s).label("var"),
                success.label("success"),
                pc.label("pc"),
            )
            .group_by(scored.c.set_key)
            .subquery()
        )
        c = inner.c
        return select(
            literal("summary").label("kind"),
            c.set_key,
            cast(null(), String),
            c.n,
            cast(null(), Integer),
            c.mean,
            c.lo,
            c.hi,
            c.var,
            c.success,
            *(c.pc[i + 1] for i in range(len(PERCENTILES))),
        )
    percentiles = _ranked_percentiles(scored).subquery()
    return (
        select(
            *head,
            cast(null(), Integer),
            func.avg(s),
            func.min(s),
            func.max(s),
            func.avg(s * s) - func.avg(s) * func.avg(s),
            success,
            func.max(percentiles.c.p0),
            func.max(percentiles.c.p1),
            func.max(percentiles.c.p2),
        )
        .join(percentiles, percentiles.c.set_key == scored.c.set_key)
        .group_by(scored.c.set_key)
    )


def _aggregates(source: Any, threshold: float, dialect: str) -> list[Select[Any]]:
    """The summary, histogram and item rows of every set in `source` (set_key, student_id, item, s)."""
    s = source.c.s
    none_f, none_i, none_t = cast(null(), Double), cast(null(), Integer), cast(null(), String)
    means = (
        select(source.c.set_key, func.avg(s).label("m"))
        .group_by(source.c.set_key, source.c.student_id)
        .subquery()
    )
    bin_of = case(
        (means.c.m >= 1, HISTOGRAM_BINS - 1),
        else_=_floor(means.c.m * HISTOGRAM_BINS + BIN_EPSILON, dialect),
    )
    bins = select(literal("bin"), means.c.set_key, none_t, bin_of, func.count(), *([none_f] * 8)).group_by(
        means.c.set_key, bin_of
    )
    per_item = select(
        literal("item"),
        source.c.set_key,
        source.c.item,
        func.count(),
        none_i,
        func.avg(s),
        none_f,
        none_f,
        none_f,
        func.avg(case((s >= threshold, ONE), else_=ZERO)),
        none_f,
        none_f,
        none_f,
    ).group_by(source.c.set_key, source.c.item)
    return [_summary(source, threshold, dialect), bins, per_item]


def figures_statement(
    instance_id: int,
    sets: Mapping[int, Sequence[int]],
    filters: ResultFilters,
    dialect: str,
    union_key: int | None = None,
    disjoint: bool = False,
) -> Select[Any]:
    """The one statement behind `figures_by_set`: rows of (kind, set_key, label, n1, n2, f1..f8).

    `scored` is each set's members' matching results, read from the index by student. For the
    union of all the sets (`union_key`): when no student is in two sets (`disjoint`), only its
    score figures are computed here, over all of `scored` (its counts, histogram and items are the
    sets' own added up, by `figures_by_set`); otherwise each student's results are read once
    more, without the sets, so that a student in two sets counts once.
    """
    members = _members(instance_id, sets).cte("members")
    conditions: list[ColumnElement[bool]] = []
    if filters.items:
        conditions.append(Result.item.in_(list(filters.items)))
    if filters.since is not None:
        conditions.append(Result.recorded_at >= filters.since)
    if filters.until is not None:
        conditions.append(Result.recorded_at < filters.until)
    normalised = (Result.score / Result.max_score).label("s")
    # Each member's results, read from the index by student (a nested loop over the members).
    scored = (
        scoped_columns(Result, instance_id, members.c.set_key, Result.student_id, Result.item, normalised)
        .join(members, members.c.student_id == Result.student_id)
        .where(*conditions)
        .cte("scored")
    )
    none_f, none_i, none_t = cast(null(), Double), cast(null(), Integer), cast(null(), String)
    parts = _aggregates(scored, filters.threshold, dialect)
    parts.append(
        select(literal("members"), members.c.set_key, none_t, func.count(), none_i, *([none_f] * 8)).group_by(
            members.c.set_key
        )
    )
    if union_key is not None and disjoint:
        every_row = select(literal(union_key).label("set_key"), scored.c.s).subquery("every_row")
        parts.append(_summary(every_row, filters.threshold, dialect))
    elif union_key is not None:
        # Every result of a student of any set, once: students in two sets count once here.
        everyone = (
            scoped_columns(
                Result,
                instance_id,
                literal(union_key).label("set_key"),
                Result.student_id,
                Result.item,
                normalised,
            )
            .where(Result.student_id.in_(select(members.c.student_id)), *conditions)
            .cte("everyone")
        )
        parts += _aggregates(everyone, filters.threshold, dialect)
        parts.append(
            select(
                literal("members"),
                literal(union_key),
                none_t,
                func.count(distinct(members.c.student_id)),
                none_i,
                *([none_f] * 8),
            )
        )
    return union_all(*parts)  # type: ignore[return-value]


def _disjoint(session: Session, instance_id: int, sets: Mapping[int, Sequence[int]]) -> bool:
    """Whether no student is a member of two of the sets (then a union's figures add up)."""
    members = _members(instance_id, sets).subquery()
    pairs, students = session.execute(
        select(func.count(), func.count(distinct(members.c.student_id))).select_from(members)
    ).one()
    return bool(pairs == students)


def _added_up(parts: Sequence[Figures], union: Figures) -> None:
    """The union of disjoint sets: its member counts, histogram and items are the sets' own added
    up (each student and result is in one set). Its score figures came from the statement."""
    union.member_count = sum(f.member_count for f in parts)
    union.members_with_results = sum(f.members_with_results for f in parts)
    union.histogram = [sum(f.histogram[i] for f in parts) for i in range(HISTOGRAM_BINS)]
    by_item: dict[str, list[ItemFigures]] = {}
    for figures in parts:
        for one in figures.items:
            by_item.setdefault(one.item, []).append(one)
    union.items = []
    for name, same in sorted(by_item.items()):
        count = sum(i.result_count for i in same)
        union.items.append(
            ItemFigures(
                item=name,
                result_count=count,
                mean_score=sum(i.result_count * i.mean_score for i in same) / count,
                success_rate=sum(i.result_count * i.success_rate for i in same) / count,
            )
        )


def figures_by_set(
    session: Session,
    *,
    instance_id: int,
    sets: Mapping[int, Sequence[int]],
    filters: ResultFilters,
    union_key: int | None = None,
) -> dict[int, Figures]:
    """Each set's figures (every key of `sets` is in the answer), and with `union_key` the figures
    of all the sets' members together under that key (each student and result counted once),
    in one statement (and, for a union, one small query first)."""
    out = {key: Figures() for key in [*sets, *([] if union_key is None else [union_key])]}
    if not sets:
        return out
    dialect = session.get_bind().dialect.name
    disjoint = union_key is not None and _disjoint(session, instance_id, sets)
    if dialect == "postgresql" and (len(sets) > 1 or union_key is not None):
        # A comparison reads hundreds of thousands of rows: sorts fit in memory with more than the
        # default 4 MB, and compiling it with JIT costs more than it saves (docs/benchmarks.md).
        # For this transaction only.
        session.execute(
            select(
                func.set_config("work_mem", COMPARISON_WORK_MEM, True), func.set_config("jit", "off", True)
            )
        )
    statement = figures_statement(instance_id, sets, filters, dialect, union_key, disjoint)
    for kind, key, label, n1, n2, f1, f2, f3, f4, f5, f6, f7, f8 in session.execute(statement).all():
        figures = out[key]
        if kind == "members":
            figures.member_count = n1
        elif kind == "bin":
            figures.histogram[n1] = n2
            figures.members_with_results += n2  # each member with results is in one bin
        elif kind == "item":
            figures.items.append(ItemFigures(item=label, result_count=n1, mean_score=f1, success_rate=f5))
        else:
            figures.result_count = n1
            figures.mean_score, figures.min_score, figures.max_score = f1, f2, f3
            figures.sd_score = math.sqrt(max(f4, 0.0))  # SQLite's variance may come out a hair below 0
            figures.success_rate = f5
            figures.p25_score, figures.median_score, figures.p75_score = f6, f7, f8
    for figures in out.values():
        figures.items.sort(key=lambda i: i.item)
    if union_key is not None and disjoint:
        _added_up([out[key] for key in sets], out[union_key])
    return out
