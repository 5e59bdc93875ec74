"""Tenants, the people who act in them, and their API keys."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, UTCDateTime, utcnow
from studentgroups.roles import Role

__all__ = ["ApiKey", "Instance", "Role", "User"]


class Instance(Base):
    """A tenant: one platform's world. Every other row belongs to exactly one."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class User(Base, InstanceEntity):
    """Someone who acts through a key: a platform's service account, a member of staff, or a learner.

    A learner's user is linked to their student (`student_id`): its keys act as that student and
    nothing more (`studentgroups.permissions`), and it goes with the student. It is the
    learner's alone: a user that acts for the platform is never linked to a student.
    """

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("instance_id", "name"), UniqueConstraint("instance_id", "source_id"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    student_id: Mapped[int | None] = mapped_column(
        ForeignKey("students.id", ondelete="CASCADE"), unique=True, default=None
    )
    source_id: Mapped[str | None] = mapped_column(String(255), default=None)
    """The person's id in the student information system they were imported from (OneRoster's
    `sourcedId`, for a teacher): how a re-import finds them."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base, InstanceEntity):
    """A key, stored as the SHA-256 of its secret; the secret is shown once, at creation."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("role IN ('admin', 'staff', 'read-only')", name="role"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
