"""modules and users keep the id a student information system knows them by (OneRoster's sourcedId)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00.000000

A OneRoster import makes a class a module and a teacher a user; re-importing the same bundle
finds them again by `source_id` (unique in an instance), so a changed row updates them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("modules", "users")


def upgrade() -> None:
    """Upgrade schema."""
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("source_id", sa.String(length=255), nullable=True))
            batch_op.create_unique_constraint(
                batch_op.f(f"uq_{table}_instance_id_source_id"), ["instance_id", "source_id"]
            )


def downgrade() -> None:
    """Downgrade schema."""
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_instance_id_source_id"), type_="unique")
            batch_op.drop_column("source_id")
