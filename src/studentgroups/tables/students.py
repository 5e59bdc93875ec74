"""Students: learners, known by the platform's own id (`uid`)."""

from __future__ import annotations

import uuid as uuid_module
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, UTCDateTime, utcnow

JsonObject = JSON().with_variant(JSONB(), "postgresql")


class Student(Base, InstanceEntity):
    """A learner in one instance, with the Domoscio civil profile and free attributes."""

    __tablename__ = "students"
    __table_args__ = (
        UniqueConstraint("instance_id", "uid"),
        UniqueConstraint("instance_id", "id"),  # what memberships refer to: a tenant wall in the schema
        CheckConstraint("sexe IN ('male', 'female', 'undefined')", name="sexe"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    uid: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255), default=None)
    sexe: Mapped[str | None] = mapped_column(String(9), default=None)
    date_of_birth: Mapped[date | None] = mapped_column(Date, default=None)
    country_of_residence: Mapped[str | None] = mapped_column(String(255), default=None)
    city_of_residence: Mapped[str | None] = mapped_column(String(255), default=None)
    attributes: Mapped[dict[str, Any]] = mapped_column(JsonObject, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
