"""The one place a tenant filter is written: every query goes through `scoped`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Delete, Row, Select, Update, delete, func, select, update
from sqlalchemy.orm import Session

from studentgroups.db import InstanceEntity, InstanceOwned
from studentgroups.errors import FieldError, NotFound
from studentgroups.listing import Page

M = TypeVar("M", bound=InstanceEntity)
Owned = TypeVar("Owned", bound=InstanceOwned)


def scoped(model: type[Owned], instance_id: int) -> Select[Owned]:
    """`SELECT model` limited to one instance's rows."""
    return select(model).where(model.instance_id == instance_id)


def scoped_columns(model: type[InstanceOwned], instance_id: int, *columns: Any) -> Select[Any]:
    """`SELECT columns FROM model` limited to one instance's rows."""
    return select(*columns).select_from(model).where(model.instance_id == instance_id)


def scoped_update(model: type[InstanceOwned], instance_id: int) -> Update:
    """`UPDATE model` limited to one instance's rows."""
    return update(model).where(model.instance_id == instance_id)


def scoped_delete(model: type[InstanceOwned], instance_id: int) -> Delete:
    """`DELETE FROM model` limited to one instance's rows."""
    return delete(model).where(model.instance_id == instance_id)


def paged(session: Session, stmt: Select[Any], page: Page) -> tuple[Select[Any], int]:
    """The select limited to one page, and the total without paging (counted now): for a list
    read later, or streamed (`streaming`)."""
    total = int(session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0)
    if page.limit is not None:
        stmt = stmt.limit(page.limit)
    if page.offset:
        stmt = stmt.offset(page.offset)
    return stmt, total


def paginate(session: Session, stmt: Select[Any], page: Page) -> tuple[Sequence[Any], int]:
    """One page of an instance-scoped select, in id order, and the total without paging."""
    stmt, total = paged(session, stmt, page)
    return session.execute(stmt).all(), total


def list_page(session: Session, model: type[M], instance_id: int, page: Page) -> tuple[Sequence[M], int]:
    """One page of the instance's rows of `model`, by id, and how many there are in all."""
    rows, total = paginate(session, scoped(model, instance_id).order_by(model.id), page)
    return [row[0] for row in rows], total


def list_page_rows(
    session: Session, model: type[InstanceEntity], instance_id: int, page: Page, *columns: Any
) -> tuple[Sequence[Row[Any]], int]:
    """One page of the instance's rows of `model`, as plain rows of `columns`, by id.

    For long lists: plain rows skip the ORM's identity map and instrumentation, and a schema
    with `from_attributes` reads them as fast as it reads a dict.
    """
    return paginate(session, scoped_columns(model, instance_id, *columns).order_by(model.id), page)


def get_in_instance(
    session: Session,
    model: type[M],
    object_id: int,
    instance_id: int,
    *,
    what: str,
    field: str | None = None,
) -> M:
    """The row with this id in this instance, else NotFound (another instance's id included)."""
    found = session.scalar(scoped(model, instance_id).where(model.id == object_id))
    if found is None:
        errors = (
            [FieldError(field=field, rule="not_found", message=f"no {what} {object_id}")] if field else []
        )
        raise NotFound(f"No {what} with id {object_id} in this instance.", errors=errors)
    return found


def related_in_instance(
    session: Session, model: type[M], object_id: int | None, instance_id: int, *, refresh: bool = False
) -> M | None:
    """The row an id read off another row of the instance names (a parent, a sibling, a group in
    a queue), or None: from the session's identity map when it is there, and never across the
    wall (a row of another instance is None, as a missing one). `refresh` reads it again."""
    if object_id is None:
        return None
    found = session.get(model, object_id, populate_existing=refresh)
    return found if found is not None and found.instance_id == instance_id else None
