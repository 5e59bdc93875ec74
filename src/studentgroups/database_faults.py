"""Which database errors mean the database cannot serve us now (an outage: 503), which mean a
transaction lost to a concurrent one (send it again: 409), and which are bugs (500)."""

from __future__ import annotations

import sqlite3

from psycopg import InterfaceError as DriverInterfaceError
from psycopg import OperationalError as DriverOperationalError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

# SQLSTATE classes of a database that cannot serve us now, rather than of a wrong statement:
# connection exception, invalid authorization, insufficient resources, operator intervention
# (shutdown, restart, statement cancelled), system error.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "28", "53", "57", "58"})
_SQLITE_BUSY = ("database is locked", "database table is locked", "disk i/o error", "unable to open database")


def database_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database is down, unreachable or too busy, not that a statement is wrong.

    SQLAlchemy wraps the driver's errors: `connection_invalidated` when the connection broke
    under a statement, no `statement` when a new connection could not be made (refused, timed
    out, the server starting up). COPY through the driver (`bulk.insert_rows`) raises psycopg's
    own errors, where a driver error without a SQLSTATE is a lost connection. A driver error
    without a SQLSTATE under a statement (too many parameters, say) is a bug, not an outage.
    """
    if isinstance(exc, PoolTimeoutError | DriverInterfaceError):
        return True
    driver_error: BaseException | None = exc
    under_statement = False
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        under_statement = exc.statement is not None
        driver_error = exc.orig
    if isinstance(driver_error, DriverOperationalError):
        if driver_error.sqlstate is None:
            return not under_statement
        return driver_error.sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
    if isinstance(driver_error, sqlite3.OperationalError):
        return str(driver_error).lower().startswith(_SQLITE_BUSY)
    return isinstance(driver_error, DriverInterfaceError)


def lost_to_a_concurrent_transaction(exc: BaseException) -> bool:
    """True when PostgreSQL rolled the transaction back for another's sake (SQLSTATE class 40:
    a deadlock, a serialization failure): nothing was saved, and the same request may succeed."""
    driver_error = exc.orig if isinstance(exc, DBAPIError) else exc
    sqlstate = getattr(driver_error, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("40")
