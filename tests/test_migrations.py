"""Migrations: upgrade, downgrade, upgrade again; and the models match them."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, insert, inspect, text

from studentgroups.migrations import downgrade_database, upgrade_database
from studentgroups.models import Base


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
                    for s in (1, 2, 3)
                ],
            )
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


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608 - fixed names
            for table in ("instances", "students", "groups", "memberships")
        }
