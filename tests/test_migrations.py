"""Migrations: upgrade, downgrade, upgrade again; and the models match them."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

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
