"""the console's sign-ins: one-time sign-in links and browser sessions, stored hashed

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 19:10:00.000000

"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _columns(table: str, last: str) -> list[Any]:
    return [
        sa.Column("id", BigId, nullable=False),
        sa.Column("instance_id", BigId, nullable=False),
        sa.Column("user_id", BigId, nullable=False),
        sa.Column("key_id", BigId, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column(last, sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('admin', 'staff', 'read-only')", name=op.f(f"ck_{table}_role")),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f(f"fk_{table}_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["key_id"], ["api_keys.id"], name=op.f(f"fk_{table}_key_id_api_keys"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("token_hash", name=op.f(f"uq_{table}_token_hash")),
    ]


def upgrade() -> None:
    """Upgrade schema."""
    for table, last in (("console_links", "used_at"), ("console_sessions", "signed_out_at")):
        op.create_table(table, *_columns(table, last))
        op.create_index(op.f(f"ix_{table}_instance_id"), table, ["instance_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    for table in ("console_sessions", "console_links"):
        op.drop_index(op.f(f"ix_{table}_instance_id"), table_name=table)
        op.drop_table(table)
