"""learners' own users: a user linked to a student goes with it; users linked by mistake are mended

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 19:30:00.000000

Until now `POST /api_keys {"role": …, "student_uid": "alice"}` without `user` linked alice to the
instance's `admin` user, so every key of that user became alice's learner key. A user linked to
a student is now that learner's alone, and its keys act as the learner and nothing more; so a
linked user that acts for the platform is unlinked here, and its keys keep working as the
platform's, as they did before the link. Such a user is one that holds an admin key (revoked
or not), or the instance's default `admin` user: no learner's key is ever admin. Which of its
other keys was made for the learner is recorded nowhere; they are listed in the migration's log,
for an admin to revoke the one handed to the learner and make a new learner's key
(`POST /api_keys` with `student_uid`, no `user`).

Every other linked user is the learner's own: it stays linked, and its keys are that learner's.
The link now cascades: deleting a student deletes their learner's user and its keys.
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic.runtime.migration")

_users = sa.table(
    "users",
    sa.column("id", sa.BigInteger),
    sa.column("instance_id", sa.BigInteger),
    sa.column("name", sa.String),
    sa.column("student_id", sa.BigInteger),
)
_keys = sa.table(
    "api_keys",
    sa.column("id", sa.BigInteger),
    sa.column("user_id", sa.BigInteger),
    sa.column("role", sa.String),
    sa.column("prefix", sa.String),
)


def _unlink_platform_users() -> None:
    conn = op.get_bind()
    holds_admin_key = sa.exists().where(_keys.c.user_id == _users.c.id, _keys.c.role == "admin")
    platform = conn.execute(
        sa.select(_users.c.id, _users.c.instance_id, _users.c.name, _users.c.student_id).where(
            _users.c.student_id.is_not(None), sa.or_(holds_admin_key, _users.c.name == "admin")
        )
    ).all()
    for user_id, instance_id, name, student_id in platform:
        others = conn.execute(
            sa.select(_keys.c.id, _keys.c.prefix).where(_keys.c.user_id == user_id, _keys.c.role != "admin")
        ).all()
        logger.warning(
            "instance %s: user %r acts for the platform and was linked to student %s; unlinked. "
            "Its keys that are not admin's, one of which may have been made for the learner: %s",
            instance_id,
            name,
            student_id,
            ", ".join(f"{key_id} ({prefix}…)" for key_id, prefix in others) or "none",
        )
    if platform:
        conn.execute(
            sa.update(_users).where(_users.c.id.in_([u[0] for u in platform])).values(student_id=None)
        )


def upgrade() -> None:
    """Upgrade schema."""
    _unlink_platform_users()
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_student_id_students"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_users_student_id_students"), "students", ["student_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    """Downgrade schema (the users unlinked stay unlinked)."""
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_users_student_id_students"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_users_student_id_students"),
            "students",
            ["student_id"],
            ["id"],
            ondelete="SET NULL",
        )
