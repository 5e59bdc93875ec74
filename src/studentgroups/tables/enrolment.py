"""What self-enrolment keeps beside the groups: each sibling set's policy, and the waiting lists."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, UTCDateTime, utcnow


class EnrolmentPolicy(Base, InstanceEntity):
    """How the groups under one parent (a class group, or a module's root class groups) take
    learners beyond each group's own window and capacity.

    `scope` is the sibling scope of those groups, as their memberships carry it. The last
    allocation at the window's close is kept here: when it ran, the formation it saved, and the
    learners it could not place.
    """

    __tablename__ = "enrolment_policies"
    __table_args__ = (UniqueConstraint("instance_id", "scope"), Index(None, "module_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    parent_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    scope: Mapped[str] = mapped_column(String(64))
    admit_guests: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    allocate_after_close: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    place_late_enrollees: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    allocated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    allocation_formation_id: Mapped[int | None] = mapped_column(
        ForeignKey("formations.id", ondelete="SET NULL"), default=None
    )
    allocation_unplaced: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    allocation_error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WaitlistEntry(Base, InstanceEntity):
    """A learner queued for a full group; the lowest `id` of a group is the first in its queue."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        UniqueConstraint("group_id", "student_id"),
        ForeignKeyConstraint(
            ["instance_id", "group_id"], ["groups.instance_id", "groups.id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(
            ["instance_id", "student_id"], ["students.instance_id", "students.id"], ondelete="CASCADE"
        ),
        Index(None, "group_id", "id"),
        Index(None, "student_id", "sibling_scope"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId)
    group_id: Mapped[int] = mapped_column(BigId)
    student_id: Mapped[int] = mapped_column(BigId)
    sibling_scope: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
