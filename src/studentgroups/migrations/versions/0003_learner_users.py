"""users may be learners: users.student_id, for groupAccess

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 15:20:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("student_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_users_student_id"), ["student_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_users_student_id_students"),
            "students",
            ["student_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_student_id_students"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_users_student_id"), type_="unique")
        batch_op.drop_column("student_id")
