"""modules, module staff, class-group fields on groups

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 10:18:30.615771

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "modules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uuid", sa.Uuid(), nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("creator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_modules_creator_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_modules_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_modules")),
        sa.UniqueConstraint("instance_id", "code", name=op.f("uq_modules_instance_id_code")),
        sa.UniqueConstraint("uuid", name=op.f("uq_modules_uuid")),
    )
    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_modules_instance_id_id"), ["instance_id", "id"], unique=False)

    op.create_table(
        "module_staff",
        sa.Column("module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_module_staff_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"], ["modules.id"], name=op.f("fk_module_staff_module_id_modules"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_module_staff_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("module_id", "user_id", name=op.f("pk_module_staff")),
    )
    with op.batch_alter_table("module_staff", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_module_staff_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("self_enrol", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("max_user", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("self_enrol_open_date", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("self_enrol_close_date", sa.DateTime(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_groups_module_id_parent_group_id_group_type"),
            ["module_id", "parent_group_id", "group_type"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_groups_module_id_modules"), "modules", ["module_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_check_constraint("max_user", "max_user >= 0")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_groups_max_user"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_groups_module_id_modules"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_groups_module_id_parent_group_id_group_type"))
        batch_op.drop_column("self_enrol_close_date")
        batch_op.drop_column("self_enrol_open_date")
        batch_op.drop_column("max_user")
        batch_op.drop_column("self_enrol")
        batch_op.drop_column("module_id")

    with op.batch_alter_table("module_staff", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_module_staff_user_id"))

    op.drop_table("module_staff")
    with op.batch_alter_table("modules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_modules_instance_id_id"))

    op.drop_table("modules")
