"""memberships refer to their group and student with the instance (composite foreign keys)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 16:10:00.000000

A membership can no longer join a group and a student of two instances, and a bulk write checks
two foreign keys per row instead of three.
"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    for table in ("groups", "students"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_instance_id_id"))
            batch_op.create_unique_constraint(batch_op.f(f"uq_{table}_instance_id_id"), ["instance_id", "id"])
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_memberships_group_id_groups"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_memberships_instance_id_instances"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_memberships_student_id_students"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_instance_id_groups"),
            "groups",
            ["instance_id", "group_id"],
            ["instance_id", "id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_instance_id_students"),
            "students",
            ["instance_id", "student_id"],
            ["instance_id", "id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_memberships_instance_id_students"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_memberships_instance_id_groups"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_student_id_students"),
            "students",
            ["student_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_instance_id_instances"),
            "instances",
            ["instance_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_memberships_group_id_groups"), "groups", ["group_id"], ["id"], ondelete="CASCADE"
        )
    for table in ("students", "groups"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"uq_{table}_instance_id_id"), type_="unique")
            batch_op.create_index(
                batch_op.f(f"ix_{table}_instance_id_id"), ["instance_id", "id"], unique=False
            )
