"""Throwaway test databases: a SQLite file, or a fresh database on a PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import URL, make_url

TEST_DATABASE_ENV = "STUDENTGROUPS_TEST_DATABASE_URL"


def server_url() -> str | None:
    """The PostgreSQL server the suite runs on, or None for SQLite."""
    return os.environ.get(TEST_DATABASE_ENV) or None


def _admin_connect(url: URL) -> psycopg.Connection:
    return psycopg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname=url.database or "postgres",
        autocommit=True,
        connect_timeout=5,
    )


def create_database(directory: Path) -> str:
    """A new, empty database; its SQLAlchemy URL."""
    server = server_url()
    if server is None:
        return f"sqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.db'}"
    url = make_url(server)
    name = f"sg_test_{uuid.uuid4().hex[:12]}"
    with _admin_connect(url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(database_url: str) -> None:
    """Remove a database made by `create_database` (SQLite files go with their temp folder)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        return
    server = make_url(server_url() or database_url)
    with _admin_connect(server) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"
