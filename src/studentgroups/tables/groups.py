"""Groups of every kind in one table, and the memberships that put students in them."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, InstanceOwned, UTCDateTime, utcnow

ROOT_SCOPE = "root"
"""The sibling scope of an instance's root groups (no module, no parent): Domoscio's groups."""


class Group(Base, InstanceEntity):
    """A student group, class group, roster or guest group: one table for every kind."""

    __tablename__ = "groups"
    __table_args__ = (
        UniqueConstraint("instance_id", "id"),  # what memberships refer to: a tenant wall in the schema
        Index(None, "student_cluster_id"),
        Index(None, "parent_group_id"),
        Index(None, "module_id", "parent_group_id", "group_type"),
        CheckConstraint("group_access BETWEEN 0 AND 3", name="group_access"),
        CheckConstraint("max_user >= 0", name="max_user"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    student_cluster_id: Mapped[int | None] = mapped_column(
        ForeignKey("student_clusters.id", ondelete="RESTRICT"), default=None
    )
    parent_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="RESTRICT"), default=None
    )
    group_type: Mapped[int] = mapped_column(SmallInteger, default=1)
    group_access: Mapped[int] = mapped_column(SmallInteger, default=1)
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    allow_multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    module_id: Mapped[int | None] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"), default=None)
    self_enrol: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    max_user: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    self_enrol_open_date: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    self_enrol_close_date: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    waitlist: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Membership(Base, InstanceOwned):
    """A student in a group.

    `sibling_scope` names the set of groups that share one parent; where `exclusive`, the
    partial unique index keeps a student in at most one group of that set, even under races.
    The group and the student are referred to with the instance: the database itself refuses a
    membership that would join two tenants.
    """

    __tablename__ = "memberships"
    __table_args__ = (
        PrimaryKeyConstraint("group_id", "student_id"),
        ForeignKeyConstraint(
            ["instance_id", "group_id"], ["groups.instance_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["instance_id", "student_id"], ["students.instance_id", "students.id"], ondelete="CASCADE"
        ),
        Index(None, "student_id"),
        Index(
            "uq_memberships_student_id_sibling_scope",
            "student_id",
            "sibling_scope",
            unique=True,
            postgresql_where=text("exclusive"),
            sqlite_where=text("exclusive"),
        ),
    )

    group_id: Mapped[int] = mapped_column(BigId)
    student_id: Mapped[int] = mapped_column(BigId)
    instance_id: Mapped[int] = mapped_column(BigId)
    sibling_scope: Mapped[str] = mapped_column(String(64))
    exclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
