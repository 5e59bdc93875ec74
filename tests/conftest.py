"""Fixtures: one migrated database and one live server per run; tenants per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import settings
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.main import create_app
from studentgroups.migrations import upgrade_database
from studentgroups.settings import Settings
from tests.databases import create_database, drop_database, is_postgres, server_url
from tests.factories import Tenant, new_tenant
from tests.live_server import LiveServer

# No deadline for any example: it is a wall-clock assertion, and this machine is shared. An
# example over HTTP took 42 ms alone and 605 ms beside a soak run.
settings.register_profile("studentgroups", deadline=None)
settings.load_profile("studentgroups")


def pytest_report_header() -> str:
    return f"database: {'PostgreSQL at ' + (server_url() or '') if server_url() else 'SQLite (embedded)'}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (STUDENTGROUPS_TEST_DATABASE_URL)")
    for item in items:
        if "postgres_only" in item.keywords and server_url() is None:
            item.add_marker(skip_pg)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database for this run, upgraded to the newest migration."""
    url = create_database(tmp_path_factory.mktemp("db"))
    upgrade_database(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="session")
def on_postgres(database_url: str) -> bool:
    return is_postgres(database_url)


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[LiveServer]:
    """The service on 127.0.0.1, on the run's database."""
    # No rate limit (it is on by default on PostgreSQL): the fuzzer alone sends one key thousands
    # of requests. tests/operations/test_rate_limit.py starts servers of its own with it on.
    # Nor the self-enrolment sweep: tests close windows themselves, when they choose
    # (tests/enrolment/test_placement.py starts a server with it on).
    live = LiveServer(
        create_app(Settings(database_url=database_url, rate_limit_per_minute=0, enrolment_sweep_seconds=0))
    ).start()
    yield live
    live.stop()


@pytest.fixture(scope="session")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        yield client


@pytest.fixture(scope="session")
def sessions(server: LiveServer) -> sessionmaker[Session]:
    """Sessions on the server's own engine, for operator-side set-up (instances, keys)."""
    factory: sessionmaker[Session] = server.app.state.write_sessions
    return factory


@pytest.fixture
def make_tenant(http: httpx.Client, sessions: sessionmaker[Session]) -> Callable[[], Tenant]:
    """Makes a new instance with its admin key; call it once per tenant a test needs."""
    return lambda: new_tenant(http, sessions)


@pytest.fixture
def tenant(make_tenant: Callable[[], Tenant]) -> Tenant:
    """A new instance, all the test's own."""
    return make_tenant()


@pytest.fixture
def tmp_database(tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated) of the run's kind, for tests that need their own."""
    url = create_database(tmp_path)
    yield url
    drop_database(url)
