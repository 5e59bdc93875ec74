"""Alembic migrations, and the calls that run them from the CLI and the tests."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for this package's migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(files("studentgroups") / "migrations"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (the newest by default)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(database_url: str, revision: str = "base") -> None:
    """Downgrade the database to `revision` (empty by default)."""
    command.downgrade(alembic_config(database_url), revision)


@dataclass(frozen=True, slots=True)
class SchemaState:
    """Where a database stands among the migrations."""

    current: str | None
    """Its migration, or None when it was never migrated."""
    head: str
    """The newest migration this version of the service has."""

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def advice(self, where: str) -> str:
        """What to do, in one line, when it is not up to date."""
        at = f"at migration {self.current}" if self.current else "not migrated"
        return f"the database {where} is {at}; this version needs {self.head}: run `studentgroups migrate`"


@cache
def head_revision() -> str:
    """The newest migration of this package."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None  # the package ships its migrations
    return head


def schema_state(connection: Connection) -> SchemaState:
    """Where the database behind `connection` stands (one query)."""
    current = MigrationContext.configure(connection).get_current_revision()
    return SchemaState(current=current, head=head_revision())
