"""results: learners' outcomes on items, indexed for per-group figures

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 15:43:43.185924

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "results",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("student_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item", sa.String(length=255), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("max_score", sa.Double(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("max_score > 0", name=op.f("ck_results_max_score_positive")),
        sa.CheckConstraint("score >= 0 AND score <= max_score", name=op.f("ck_results_score_in_range")),
        sa.ForeignKeyConstraint(
            ["instance_id", "student_id"],
            ["students.instance_id", "students.id"],
            name=op.f("fk_results_instance_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_results")),
    )
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_results_instance_id_item_recorded_at"),
            ["instance_id", "item", "recorded_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_results_student_id_item_recorded_at",
            ["student_id", "item", "recorded_at"],
            unique=False,
            postgresql_include=["score", "max_score", "instance_id"],
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("results", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_results_student_id_item_recorded_at", postgresql_include=["score", "max_score", "instance_id"]
        )
        batch_op.drop_index(batch_op.f("ix_results_instance_id_item_recorded_at"))

    op.drop_table("results")
