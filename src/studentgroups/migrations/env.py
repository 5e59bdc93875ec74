"""Alembic environment: runs migrations on the configured database."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from studentgroups.db import create_db_engine
from studentgroups.settings import Settings, get_settings
from studentgroups.tables import Base

config = context.config
target_metadata = Base.metadata


def _settings() -> Settings:
    url = config.attributes.get("database_url")
    return Settings(database_url=url) if url else get_settings()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    settings = _settings()
    engine = create_db_engine(settings.model_copy(update={"db_pool_size": 1}))
    try:
        with engine.connect() as conn:
            if settings.is_sqlite:
                # SQLite alters a table by copying it and dropping the old one; with foreign keys on,
                # that drop would cascade and delete every row that refers to the table.
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
                if settings.is_sqlite:
                    _refuse_broken_references(conn)
            conn.commit()
    finally:
        engine.dispose()


def _refuse_broken_references(conn: Connection) -> None:
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration would leave rows that refer to nothing: {broken[:5]}")


if context.is_offline_mode():
    context.configure(url=_settings().database_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
