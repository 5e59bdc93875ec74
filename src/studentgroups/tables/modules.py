"""Modules (LumiNUS "resources"): a course, with its roster and guest groups, and its staff."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import ForeignKey, Index, PrimaryKeyConstraint, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, InstanceOwned, UTCDateTime, utcnow


class Module(Base, InstanceEntity):
    """A course or training: the LumiNUS `resourceID`."""

    __tablename__ = "modules"
    __table_args__ = (
        Index(None, "instance_id", "id"),
        UniqueConstraint("instance_id", "code"),
        UniqueConstraint("instance_id", "source_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    source_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """The class's id in the student information system it was imported from (OneRoster's
    `sourcedId`): how a re-import finds it."""
    creator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ModuleStaff(Base, InstanceOwned):
    """A user who manages a module's groups (besides the module's creator and admin keys)."""

    __tablename__ = "module_staff"
    __table_args__ = (PrimaryKeyConstraint("module_id", "user_id"),)

    module_id: Mapped[int] = mapped_column(ForeignKey("modules.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
