"""Results: a learner's outcome on an item (a knowledge node, a quiz, an assessment)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Double, ForeignKeyConstraint, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from studentgroups.db import Base, BigId, InstanceEntity, UTCDateTime


class Result(Base, InstanceEntity):
    """One outcome: `score` out of `max_score` (Domoscio's were 0 or 1 out of 1) on `item`.

    The index on (student, item, time) carries the scores and the instance on PostgreSQL, so a
    group's figures are read from the index alone (an index-only scan, tenant filter included).
    """

    __tablename__ = "results"
    __table_args__ = (
        ForeignKeyConstraint(
            ["instance_id", "student_id"], ["students.instance_id", "students.id"], ondelete="CASCADE"
        ),
        CheckConstraint("max_score > 0", name="max_score_positive"),
        CheckConstraint("score >= 0 AND score <= max_score", name="score_in_range"),
        Index(
            "ix_results_student_id_item_recorded_at",
            "student_id",
            "item",
            "recorded_at",
            postgresql_include=["score", "max_score", "instance_id"],
        ),
        Index(None, "instance_id", "item", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(BigId)
    student_id: Mapped[int] = mapped_column(BigId)
    item: Mapped[str] = mapped_column(String(255))
    score: Mapped[float] = mapped_column(Double)
    max_score: Mapped[float] = mapped_column(Double, default=1.0)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
