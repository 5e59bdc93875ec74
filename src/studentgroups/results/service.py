"""The rules of results: storing them in batches, all or none; listing them; a group's figures.

Flushes, never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Row, Select
from sqlalchemy.orm import Session

from studentgroups.bulk import insert_rows
from studentgroups.clusters.service import get_cluster
from studentgroups.db import utcnow
from studentgroups.errors import BadRequest, FieldError, NotFound
from studentgroups.listing import Page, wire_timestamp
from studentgroups.lookup import existing_student_ids, student_ids_by_uid
from studentgroups.results.aggregates import Figures, ResultFilters, figures_by_set
from studentgroups.results.schemas import ResultIn, as_utc
from studentgroups.tables.groups import Group
from studentgroups.tables.results import Result
from studentgroups.tables.students import Student
from studentgroups.tenancy import paginate, scoped_columns

MAX_ROW_ERRORS = 100
"""Bad rows named in one answer: enough to fix a batch, bounded for a broken one."""


def _unknown_student(row: int, result: ResultIn) -> FieldError:
    field, value = ("student_id", result.student_id) if result.uid is None else ("uid", repr(result.uid))
    return FieldError(field=f"{row}.{field}", rule="not_found", message=f"row {row}: no student {value}")


def _known(student_id: int | None) -> int:
    """A student id a checked row holds (`ResultIn` names a student by id or by uid)."""
    assert student_id is not None
    return student_id


def _student_ids(session: Session, instance_id: int, results: Sequence[ResultIn]) -> list[int]:
    """Each result's student id, found in chunks; BadRequest naming every row whose student is not
    one of the instance's (`row.student_id` or `row.uid`)."""
    ids = list({r.student_id for r in results if r.student_id is not None})
    uids = list({r.uid for r in results if r.uid is not None})
    known_ids = existing_student_ids(session, instance_id=instance_id, student_ids=ids)
    id_of_uid = student_ids_by_uid(session, instance_id=instance_id, uids=uids)
    unknown = [
        _unknown_student(row, r)
        for row, r in enumerate(results)
        if (r.uid is None and r.student_id not in known_ids) or (r.uid is not None and r.uid not in id_of_uid)
    ]
    if unknown:
        raise BadRequest(
            f"{len(unknown)} result(s) name a student not of this instance; nothing was stored.",
            errors=unknown[:MAX_ROW_ERRORS],
        )
    # Each row names exactly one of the two (ResultIn), and every one named was found above.
    return [id_of_uid[r.uid] if r.uid is not None else _known(r.student_id) for r in results]


def record_result(session: Session, *, instance_id: int, result: ResultIn) -> Result:
    """Store one checked result; its student must be the instance's."""
    (student_id,) = _student_ids(session, instance_id, [result])
    row = Result(
        instance_id=instance_id,
        student_id=student_id,
        item=result.item,
        score=result.score,
        max_score=result.max_score,
        recorded_at=utcnow() if result.recorded_at is None else as_utc(result.recorded_at),
    )
    session.add(row)
    session.flush()
    return row


def record_results(session: Session, *, instance_id: int, results: Sequence[ResultIn]) -> int:
    """Store checked results, all or none; a row naming a student not of the instance is a 400.

    Students are found in chunks, the rows written in bulk: no query runs per result.
    """
    student_ids = _student_ids(session, instance_id, results)
    now = utcnow().replace(tzinfo=None)
    rows = [
        (
            student_id,
            r.item,
            r.score,
            r.max_score,
            now if r.recorded_at is None else _naive_utc(r.recorded_at),
        )
        for r, student_id in zip(results, student_ids, strict=True)
    ]
    # In student order, the index that leads with the student fills in order: 10,000 rows into
    # 5,000,000 went from about 300 ms to 200 ms (docs/benchmarks.md).
    rows.sort(key=itemgetter(0))
    insert_rows(
        session,
        "results",
        ("student_id", "item", "score", "max_score", "recorded_at"),
        ("int8", "varchar", "float8", "float8", "timestamp"),
        rows,
        constants=(("instance_id", "int8", instance_id),),
    )
    return len(results)


def _naive_utc(value: datetime) -> datetime:
    """As stored: UTC without a zone (a time sent without a zone is UTC already)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


RESULT_COLUMNS = (
    Result.id,
    Result.student_id,
    Student.uid,
    Result.item,
    Result.score,
    Result.max_score,
    wire_timestamp(Result.recorded_at).label("recorded_at"),
    Result.instance_id,
)


@dataclass(frozen=True, slots=True)
class ResultsMatching:
    """Which results a list or an export takes: one student's (by id or uid), some items', in a
    window of time (UTC; `until` excluded); nothing given takes all."""

    student_id: int | None = None
    uid: str | None = None
    items: Sequence[str] = ()
    since: datetime | None = None
    until: datetime | None = None


def results_statement(
    *, instance_id: int, matching: ResultsMatching, readable: ColumnElement[bool] | None = None
) -> Select[Any]:
    """The instance's results that match and that the caller reads (`readable`:
    `permissions.results_readable`), by id: what the list pages and the export streams."""
    conditions: list[ColumnElement[bool]] = [] if readable is None else [readable]
    if matching.student_id is not None:
        conditions.append(Result.student_id == matching.student_id)
    if matching.uid is not None:
        conditions.append(Student.uid == matching.uid)
    if matching.items:
        conditions.append(Result.item.in_(list(matching.items)))
    if matching.since is not None:
        conditions.append(Result.recorded_at >= matching.since)
    if matching.until is not None:
        conditions.append(Result.recorded_at < matching.until)
    return (
        scoped_columns(Result, instance_id, *RESULT_COLUMNS)
        .join(Student, Student.id == Result.student_id)
        .where(*conditions)
        .order_by(Result.id)
    )


def list_results(
    session: Session,
    *,
    instance_id: int,
    page: Page,
    matching: ResultsMatching,
    readable: ColumnElement[bool] | None = None,
) -> tuple[Sequence[Row[Any]], int]:
    """One page of the results that match (`results_statement`), and how many match in all."""
    return paginate(
        session, results_statement(instance_id=instance_id, matching=matching, readable=readable), page
    )


def get_result(
    session: Session, *, instance_id: int, result_id: int, readable: ColumnElement[bool] | None = None
) -> Row[Any]:
    """One result of the instance as the wire shows it, or NotFound: also when the caller may not
    read it (`readable`), exactly as when it does not exist."""
    stmt = (
        scoped_columns(Result, instance_id, *RESULT_COLUMNS)
        .join(Student, Student.id == Result.student_id)
        .where(Result.id == result_id)
    )
    if readable is not None:
        stmt = stmt.where(readable)
    row = session.execute(stmt).first()
    if row is None:
        raise NotFound(f"No result with id {result_id} in this instance.")
    return row


def result_filters(
    items: Sequence[str] | None, since: datetime | None, until: datetime | None, threshold: float
) -> ResultFilters:
    """The filters a query asks for, with its times in UTC; `from` must come before `to`."""
    since = None if since is None else as_utc(since)
    until = None if until is None else as_utc(until)
    if since is not None and until is not None and since >= until:
        raise BadRequest(
            "from must be before to.",
            errors=[
                FieldError(field="from", rule="before_to", message="must be before to", location="query")
            ],
        )
    return ResultFilters(items=tuple(items or ()), since=since, until=until, threshold=threshold)


def _with_subgroups(session: Session, instance_id: int, group_ids: Sequence[int]) -> dict[int, list[int]]:
    """Each group's id with its sub-groups' ids (sub-groups go one level deep)."""
    out: dict[int, list[int]] = {g: [g] for g in group_ids}
    rows = session.execute(
        scoped_columns(Group, instance_id, Group.parent_group_id, Group.id).where(
            Group.parent_group_id.in_(list(group_ids))
        )
    )
    for parent_id, child_id in rows:
        out[parent_id].append(child_id)
    return out


@dataclass(frozen=True, slots=True)
class Compared:
    """Groups side by side, and all their members together (`whole`)."""

    whole: Figures
    groups: list[tuple[Group, Figures]]


WHOLE = 0
"""The key of the set of every compared group's members (group ids start at 1)."""


def group_figures(
    session: Session, *, group: Group, filters: ResultFilters, include_subgroups: bool
) -> Figures:
    """One group's figures (with its sub-groups' members when asked)."""
    members_of = (
        _with_subgroups(session, group.instance_id, [group.id])
        if include_subgroups
        else {group.id: [group.id]}
    )
    return figures_by_set(session, instance_id=group.instance_id, sets=members_of, filters=filters)[group.id]


def compare_groups(
    session: Session,
    *,
    instance_id: int,
    groups: Sequence[Group],
    filters: ResultFilters,
    include_subgroups: bool,
) -> Compared:
    """The groups' figures side by side, and their members' together, in one statement."""
    ids = [g.id for g in groups]
    sets: dict[int, list[int]] = (
        _with_subgroups(session, instance_id, ids) if include_subgroups else {g: [g] for g in ids}
    )
    figures = figures_by_set(session, instance_id=instance_id, sets=sets, filters=filters, union_key=WHOLE)
    return Compared(whole=figures[WHOLE], groups=[(g, figures[g.id]) for g in groups])


def cluster_groups(
    session: Session, *, instance_id: int, cluster_id: int, visible: ColumnElement[bool]
) -> tuple[str, list[Group]]:
    """The cluster's name and its groups that meet `visible`, by id (NotFound when the cluster is
    not the instance's)."""
    cluster = get_cluster(session, instance_id=instance_id, cluster_id=cluster_id)
    groups = session.scalars(
        scoped_columns(Group, instance_id, Group)
        .where(Group.student_cluster_id == cluster.id, visible)
        .order_by(Group.id)
    ).all()
    return cluster.name, list(groups)
