"""self-enrolment: a policy per parent, waiting lists, groups.waitlist

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 20:44:57.297809

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("student_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sibling_scope", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id", "group_id"],
            ["groups.instance_id", "groups.id"],
            name=op.f("fk_waitlist_entries_instance_id_groups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id", "student_id"],
            ["students.instance_id", "students.id"],
            name=op.f("fk_waitlist_entries_instance_id_students"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
        sa.UniqueConstraint("group_id", "student_id", name=op.f("uq_waitlist_entries_group_id_student_id")),
    )
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waitlist_entries_group_id_id"), ["group_id", "id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_waitlist_entries_student_id_sibling_scope"),
            ["student_id", "sibling_scope"],
            unique=False,
        )

    op.create_table(
        "enrolment_policies",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("instance_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("module_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("parent_group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("admit_guests", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("allocate_after_close", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("place_late_enrollees", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("allocated_at", sa.DateTime(), nullable=True),
        sa.Column(
            "allocation_formation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("allocation_unplaced", sa.JSON(), nullable=True),
        sa.Column("allocation_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allocation_formation_id"],
            ["formations.id"],
            name=op.f("fk_enrolment_policies_allocation_formation_id_formations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_enrolment_policies_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["module_id"],
            ["modules.id"],
            name=op.f("fk_enrolment_policies_module_id_modules"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_group_id"],
            ["groups.id"],
            name=op.f("fk_enrolment_policies_parent_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrolment_policies")),
        sa.UniqueConstraint("instance_id", "scope", name=op.f("uq_enrolment_policies_instance_id_scope")),
    )
    with op.batch_alter_table("enrolment_policies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_enrolment_policies_module_id"), ["module_id"], unique=False)

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waitlist", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("waitlist")

    with op.batch_alter_table("enrolment_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrolment_policies_module_id"))

    op.drop_table("enrolment_policies")
    with op.batch_alter_table("waitlist_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_student_id_sibling_scope"))
        batch_op.drop_index(batch_op.f("ix_waitlist_entries_group_id_id"))

    op.drop_table("waitlist_entries")
