"""Configuration, read from the environment (prefix ``STUDENTGROUPS_``) or a ``.env`` file."""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIB = 1024 * 1024


def default_database_path() -> Path:
    """Where the embedded database lives when none is configured: the same file wherever the
    command runs, in the user's data directory (`$XDG_DATA_HOME`, else `~/.local/share`)."""
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "studentgroups" / "studentgroups.db"


DATABASE_DEFAULT_HELP = (
    "The database is STUDENTGROUPS_DATABASE_URL (from the environment, or a .env file in the "
    "working directory); without one, the embedded SQLite file $XDG_DATA_HOME/studentgroups/"
    "studentgroups.db (~/.local/share/… when XDG_DATA_HOME is not set), wherever the command runs."
)
POSTGRES_RATE_LIMIT_PER_MINUTE = 6_000
"""The rate limit on PostgreSQL when none is set: 100 requests a second per key, sustained."""


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(
        env_prefix="STUDENTGROUPS_", env_file=".env", extra="ignore", frozen=True
    )

    environment: Literal["development", "production"] = "development"
    database_url: str = Field(
        default_factory=lambda: f"sqlite:///{default_database_path()}",
        description="SQLAlchemy URL: sqlite:///path.db or postgresql+psycopg://user@host/db; "
        "the embedded default is `default_database_path()`.",
    )
    db_pool_size: int = Field(default=8, ge=1, le=200)
    db_max_overflow: int = Field(default=4, ge=0, le=200)
    db_pool_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A request waits in line for a database connection for as long as the line "
        "moves; when no connection has come free for this long, it is answered 503 (busy).",
    )
    db_connect_timeout_seconds: int = Field(
        default=5,
        ge=2,
        le=300,
        description="PostgreSQL: give up connecting after this long (503), never hang on a dead server.",
    )
    db_pre_ping: bool = Field(
        default=True,
        description="Test each pooled connection before use (no stale connection after a restart).",
    )
    sqlite_busy_timeout_ms: int = Field(default=15_000, ge=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    # Operations and security of the HTTP pipeline (studentgroups.operations; README, "Configuration
    # and operations").
    log_format: Literal["json", "text"] = Field(
        default="json", description="Logs as JSON lines (one object per line), or `text` for humans."
    )
    access_log: bool = Field(default=True, description="Log one line per request (never its headers).")
    max_body_bytes: int = Field(
        default=16 * MIB,
        ge=1024,
        description="Largest request body; a batch of 10,000 results at the longest names is 6.4 MB.",
    )
    json_max_depth: int = Field(
        default=64, ge=2, le=200, description="Deepest nesting of arrays and objects a JSON body may have."
    )
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Origins browsers may call the API from (comma-separated; `*` for any); none: no CORS.",
    )
    hsts_max_age_seconds: int = Field(
        default=0,
        ge=0,
        description="Send Strict-Transport-Security with this max-age; 0: never (plain HTTP).",
    )
    rate_limit_per_minute: int | None = Field(
        default=None,
        ge=0,
        description="Requests a minute per API key (per address without one); 0: no limit; "
        f"unset: none on SQLite, {POSTGRES_RATE_LIMIT_PER_MINUTE:,} on PostgreSQL.",
    )
    rate_limit_burst: int | None = Field(
        default=None,
        ge=1,
        description="Requests allowed at once before the rate applies; default: a minute's.",
    )
    rate_limit_redis_url: str | None = Field(
        default=None, description="redis://host:6379/0: one budget shared by every worker; else per worker."
    )
    metrics_enabled: bool = Field(default=True, description="Serve Prometheus metrics at /metrics.")
    metrics_token: SecretStr | None = Field(
        default=None, description="When set, /metrics needs `Authorization: Bearer <token>`."
    )
    enrolment_sweep_seconds: float = Field(
        default=30.0,
        ge=0,
        le=86_400,
        description="How often to allocate the self-enrolment windows that have closed; 0: never "
        "(run `studentgroups close-enrolment` from cron instead).",
    )
    readiness_timeout_seconds: float = Field(
        default=2.0, gt=0, le=60, description="How long /readyz waits for the database's answer."
    )
    keep_alive_seconds: int = Field(
        default=75,
        gt=0,
        le=3_600,
        description="How long an idle client connection stays open. Keep it above the idle timeout "
        "of whatever sits in front (60 s on most load balancers): a client that reuses a connection "
        "the server is closing sees 'connection reset by peer'.",
    )

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    @property
    def rate_limit(self) -> int:
        """Requests a minute per key, 0 for none: as set, else off on the embedded default and
        generous on PostgreSQL (a platform's sync or a results push stays far below it)."""
        if self.rate_limit_per_minute is not None:
            return self.rate_limit_per_minute
        return 0 if self.is_sqlite else POSTGRES_RATE_LIMIT_PER_MINUTE

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str) and value.lstrip().startswith("["):
            return json.loads(value)  # a JSON list, as pydantic-settings reads lists
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.database_url.startswith("sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database loses every write: not for production")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
