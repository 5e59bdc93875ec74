"""Engine, sessions, the declarative base and the column types every table shares."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import BigInteger, DateTime, Engine, Integer, MetaData, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from studentgroups.settings import Settings

# Constraint names are fixed so that migrations and models compare equal on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids on PostgreSQL; SQLite's rowid alias must be spelled INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")
MAX_ID = 2**63 - 1


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def new_uuid() -> str:
    """A fresh random UUID in its canonical text form."""
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every database and hands back aware UTC datetimes."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class InstanceOwned:
    """A row that belongs to one instance; `studentgroups.tenancy` scopes every query on it."""

    if TYPE_CHECKING:
        instance_id: Mapped[int]


class InstanceEntity(InstanceOwned):
    """An instance-owned row with its own integer id."""

    if TYPE_CHECKING:
        id: Mapped[int]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_timeout_ms: int) -> None:
    # Foreign keys are off by default in SQLite; WAL lets readers work beside one writer.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()
    # SQLite's own lower() folds ASCII only: "Ångström" would never match "ångström", as it does
    # on PostgreSQL. Python's folds every script.
    dbapi_connection.create_function("lower", 1, _lower, deterministic=True)


def _lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


READ_ONLY = "studentgroups_read_only"


def _sqlite_begin(conn: Any) -> None:
    # Writers take the lock at BEGIN so two of them queue instead of failing mid-transaction;
    # readers begin deferred and run beside a writer (WAL).
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(settings: Settings) -> Engine:
    """An engine for the configured database, with the per-connection settings it needs."""
    if settings.is_sqlite:
        engine = create_engine(
            settings.database_url,
            connect_args={
                "check_same_thread": False,
                "timeout": settings.sqlite_busy_timeout_ms / 1000,
            },
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        busy = settings.sqlite_busy_timeout_ms

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, record: Any) -> None:
            # pysqlite's own transaction handling is replaced by explicit BEGIN IMMEDIATE.
            dbapi_connection.isolation_level = None
            _sqlite_pragmas(dbapi_connection, record, busy)

        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(
        settings.database_url,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            # A server that vanishes without closing the connection (a host down, a network cut)
            # is noticed in about 20 s by the kernel's keepalive probes, not in hours.
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 2,
        },
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=settings.db_pre_ping,
    )


def create_session_factory(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (they never escape a request).

    Read-only sessions begin deferred on SQLite (readers run beside a writer); neither kind
    touches the database until its first query. Writable sessions note whether they wrote
    (`has_written`), which is what the audit log records.
    """
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    factory = sessionmaker(bind=bind, expire_on_commit=False, autoflush=False)
    if not read_only:
        event.listen(factory, "after_flush", _flushed)
        event.listen(factory, "do_orm_execute", _executed)
    return factory


_WROTE = "studentgroups_wrote"


def mark_written(session: Session) -> None:
    """Note that the session's transaction writes: for statements that bypass the Session (COPY)."""
    session.info[_WROTE] = True


def roll_back(session: Session) -> None:
    """Roll the session's transaction back, and forget that it wrote: a request that goes on
    (to answer with a page saying why) records no audit event for a write that did not happen."""
    session.rollback()
    session.info.pop(_WROTE, None)


def has_written(session: Session) -> bool:
    """True once the session flushed objects or executed an INSERT, UPDATE or DELETE."""
    return bool(session.info.get(_WROTE))


def _flushed(session: Session, _context: Any) -> None:
    mark_written(session)


def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        mark_written(state.session)


def for_whole_joins(session: Session) -> None:
    """Plan this transaction's statements for reading whole joins (an export's every row): on
    PostgreSQL, no nested loops. A table loaded moments before has no statistics yet, and its
    planner then takes 200,000 memberships for 345 and joins them to 5,000 groups by a loop
    (750 million comparisons: a minute, where a hash join takes a tenth of a second)."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql("SET LOCAL enable_nestloop = off")


def pool_capacity(settings: Settings) -> int:
    """How many connections one process's pool may hold at once."""
    return settings.db_pool_size + settings.db_max_overflow


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll everything back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
