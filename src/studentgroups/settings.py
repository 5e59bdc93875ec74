"""Configuration, read from the environment (prefix ``STUDENTGROUPS_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="STUDENTGROUPS_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default="sqlite:///./studentgroups.db",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db",
    )
    db_pool_size: int = Field(default=8, ge=1, le=200)
    db_max_overflow: int = Field(default=4, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(default=10.0, gt=0)
    db_pre_ping: bool = Field(
        default=True,
        description="Test each pooled connection before use (no stale connection after a restart).",
    )
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database loses every write: not for production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
