"""Migrations: upgrade, downgrade, upgrade again; and the models match them."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, Engine, MetaData, Table, create_engine, event, insert, inspect, text

from studentgroups.migrations import downgrade_database, upgrade_database
from studentgroups.tables import Base


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(tmp_database: str) -> None:
    upgrade_database(tmp_database)
    assert _tables(tmp_database) == set(Base.metadata.tables)
    downgrade_database(tmp_database, "base")
    assert _tables(tmp_database) == set()
    upgrade_database(tmp_database)
    assert _tables(tmp_database) == set(Base.metadata.tables)


def test_models_match_the_migrations(tmp_database: str) -> None:
    upgrade_database(tmp_database)
    engine = create_engine(tmp_database)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_upgrading_a_database_with_data_keeps_every_row(tmp_database: str) -> None:
    """Each migration runs on a database in use: nothing is dropped or cascaded away on the way."""
    upgrade_database(tmp_database, "0001")
    engine = create_engine(tmp_database)
    now = datetime(2026, 1, 1)
    try:
        with engine.begin() as conn:
            t = _instance_with_students(conn, now, 3)
            group = {
                "instance_id": 1,
                "group_type": 1,
                "group_access": 1,
                "allow_multiple": False,
                "created_at": now,
                "updated_at": now,
            }
            conn.execute(
                insert(t["groups"]),
                [{**group, "id": g, "uuid": uuid4().hex, "name": f"g{g}"} for g in (1, 2)],
            )
            conn.execute(
                insert(t["memberships"]),
                [
                    {
                        "group_id": g,
                        "student_id": s,
                        "instance_id": 1,
                        "sibling_scope": "root",
                        "exclusive": True,
                        "created_at": now,
                    }
                    for g, s in ((1, 1), (1, 2), (2, 3))
                ],
            )
        before = _counts(engine)
        engine.dispose()
        upgrade_database(tmp_database)
        assert _counts(engine) == before
        assert before["memberships"] == 3
    finally:
        engine.dispose()


def _instance_with_students(conn: Connection, now: datetime, count: int) -> dict[str, Table]:
    """Instance 1 with students 1 to `count`, written as the schema of the moment has them; its tables."""
    tables = MetaData()
    tables.reflect(conn)
    t = tables.tables
    conn.execute(
        insert(t["instances"]),
        [{"id": 1, "uuid": uuid4().hex, "name": "i", "created_at": now, "updated_at": now}],
    )
    conn.execute(
        insert(t["students"]),
        [
            {
                "id": s,
                "uuid": uuid4().hex,
                "instance_id": 1,
                "uid": f"u{s}",
                "attributes": {},
                "created_at": now,
                "updated_at": now,
            }
            for s in range(1, count + 1)
        ],
    )
    return dict(t)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names
            for table in ("instances", "students", "groups", "memberships")
        }


def test_users_linked_to_a_student_by_mistake_act_for_the_platform_again(tmp_database: str) -> None:
    """0009: a linked user holding an admin key, or the default `admin` user, acts for the platform:
    unlinked, its keys kept; a learner's own user stays linked, and now goes with its student."""
    upgrade_database(tmp_database, "0008")
    engine = create_engine(tmp_database)
    now = datetime(2026, 1, 1)
    try:
        with engine.begin() as conn:
            t = _instance_with_students(conn, now, 3)
            conn.execute(
                insert(t["users"]),
                [
                    {
                        "id": 1,
                        "uuid": uuid4().hex,
                        "instance_id": 1,
                        "name": "admin",
                        "student_id": 1,
                        "created_at": now,
                    },
                    {
                        "id": 2,
                        "uuid": uuid4().hex,
                        "instance_id": 1,
                        "name": "alice",
                        "student_id": 2,
                        "created_at": now,
                    },
                    {
                        "id": 3,
                        "uuid": uuid4().hex,
                        "instance_id": 1,
                        "name": "ops",
                        "student_id": 3,
                        "created_at": now,
                    },
                ],
            )
            conn.execute(
                insert(t["api_keys"]),
                [
                    {
                        "id": k,
                        "instance_id": 1,
                        "user_id": u,
                        "role": role,
                        "name": "",
                        "prefix": f"sg_{k}",
                        "key_hash": f"{k:064}",
                        "created_at": now,
                    }
                    for k, u, role in ((1, 1, "staff"), (2, 2, "staff"), (3, 3, "admin"), (4, 3, "read-only"))
                ],
            )
        engine.dispose()
        upgrade_database(tmp_database)
        if engine.dialect.name == "sqlite":  # as the service's own engine has them: foreign keys on
            event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA foreign_keys=ON"))
        with engine.begin() as conn:
            rows = conn.execute(text("SELECT name, student_id FROM users ORDER BY id")).all()
            linked = {name: student_id for name, student_id in rows}
            assert linked == {"admin": None, "alice": 2, "ops": None}
            assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar_one() == 4
            conn.execute(text("DELETE FROM students WHERE id = 2"))
            assert conn.execute(text("SELECT name FROM users ORDER BY id")).scalars().all() == [
                "admin",
                "ops",
            ]
            assert conn.execute(text("SELECT id FROM api_keys ORDER BY id")).scalars().all() == [1, 3, 4]
    finally:
        engine.dispose()
