"""The rules of student clusters. Flushes, never commits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, func
from sqlalchemy.orm import Session

from studentgroups.db import utcnow
from studentgroups.errors import Conflict
from studentgroups.listing import Page, wire_timestamp
from studentgroups.tables.clusters import StudentCluster
from studentgroups.tables.groups import Group
from studentgroups.tenancy import get_in_instance, list_page_rows, scoped_columns, scoped_update


def create_cluster(session: Session, *, instance_id: int, name: str) -> StudentCluster:
    """A new cluster in the instance."""
    cluster = StudentCluster(instance_id=instance_id, name=name)
    session.add(cluster)
    session.flush()
    return cluster


def get_cluster(
    session: Session, *, instance_id: int, cluster_id: int, field: str | None = None
) -> StudentCluster:
    """The cluster, or NotFound."""
    return get_in_instance(
        session, StudentCluster, cluster_id, instance_id, what="student cluster", field=field
    )


def list_clusters(session: Session, *, instance_id: int, page: Page) -> tuple[Sequence[Row[Any]], int]:
    """One page of the instance's clusters, by id, and how many there are in all."""
    columns = (
        StudentCluster.id,
        StudentCluster.name,
        StudentCluster.instance_id,
        wire_timestamp(StudentCluster.created_at).label("created_at"),
        wire_timestamp(StudentCluster.updated_at).label("updated_at"),
    )
    return list_page_rows(session, StudentCluster, instance_id, page, *columns)


def update_cluster(
    session: Session, *, instance_id: int, cluster_id: int, changes: dict[str, Any]
) -> StudentCluster:
    """Apply the fields sent, and only those."""
    cluster = get_cluster(session, instance_id=instance_id, cluster_id=cluster_id)
    for field, value in changes.items():
        setattr(cluster, field, value)
    session.flush()
    return cluster


def delete_cluster(session: Session, *, instance_id: int, cluster_id: int, force: bool) -> StudentCluster:
    """Delete a cluster. One that still has groups is refused unless `force`, which detaches them."""
    cluster = get_cluster(session, instance_id=instance_id, cluster_id=cluster_id)
    group_count = session.scalar(
        scoped_columns(Group, instance_id, func.count()).where(Group.student_cluster_id == cluster.id)
    )
    if group_count and not force:
        raise Conflict(
            f"Student cluster {cluster.id} still has {group_count} student group(s); "
            "move or delete them first, or send ?force=true to detach them (the groups are kept)."
        )
    if group_count:
        session.execute(
            scoped_update(Group, instance_id)
            .where(Group.student_cluster_id == cluster.id)
            .values(student_cluster_id=None, updated_at=utcnow())
        )
    session.delete(cluster)
    session.flush()
    return cluster
