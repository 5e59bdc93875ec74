"""Servers with settings of their own, on the run's database; log lines captured as written."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.orm import Session, sessionmaker

from studentgroups.main import create_app
from studentgroups.operations.logs import log_handler
from studentgroups.settings import Settings
from tests.factories import Tenant, new_tenant
from tests.live_server import LiveServer

StartServer = Callable[..., LiveServer]
"""Starts the service with these settings (or this app) on the run's database; stopped after the test."""


@pytest.fixture
def start_server(database_url: str) -> Iterator[StartServer]:
    started: list[LiveServer] = []

    def start(app: FastAPI | None = None, **settings: Any) -> LiveServer:
        live = LiveServer(app or create_app(Settings(**{"database_url": database_url, **settings}))).start()
        started.append(live)
        return live

    yield start
    for live in started:
        live.stop()


def tenant_on(live: LiveServer, sessions: sessionmaker[Session]) -> Tenant:
    """A new instance whose client calls `live`."""
    return new_tenant(httpx.Client(base_url=live.url, timeout=60), sessions)


class CapturedLogs:
    """What our log handler wrote, one line per record."""

    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    @property
    def text(self) -> str:
        return self._stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.startswith("{")]


class _ServerSideOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.name.startswith(("httpx", "httpcore"))  # the test's own client


@contextmanager
def captured_logs() -> Iterator[CapturedLogs]:
    """Every record of the server, at every level, as our JSON handler writes it.

    Enter it after the servers have started: their start-up sets the root logger's level.
    """
    stream = io.StringIO()
    handler = log_handler("json", stream)
    handler.addFilter(_ServerSideOnly())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
