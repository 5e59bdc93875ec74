"""Fixtures of the fault tests: a fresh database on the suite's PostgreSQL, a private cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from studentgroups.migrations import upgrade_database
from tests.databases import create_database, drop_database
from tests.faults.private_postgres import PrivatePostgres, private_postgres, why_unavailable


@pytest.fixture(scope="module")
def fresh_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A new database of the run's kind, migrated, for this module alone; dropped afterwards."""
    url = create_database(Path(tmp_path_factory.mktemp("faults")))
    upgrade_database(url)
    yield url
    drop_database(url)


@pytest.fixture(scope="module")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of the module's own, which its tests may stop and start; removed afterwards."""
    reason = why_unavailable()
    if reason is not None:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    with private_postgres() as cluster:
        yield cluster
