"""Student clusters: Domoscio's outer layer, a set of student groups."""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, UTCDateTime, utcnow


class StudentCluster(Base, InstanceEntity):
    """A named set of student groups (a cohort, a programme)."""

    __tablename__ = "student_clusters"
    __table_args__ = (Index(None, "instance_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uuid: Mapped[uuid_module.UUID] = mapped_column(Uuid, unique=True, default=uuid_module.uuid4)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
