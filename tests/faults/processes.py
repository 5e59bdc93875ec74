"""The service as its own process, for tests that kill it, and the PostgreSQL backends it holds.

Each server connects with its own `application_name`, so that a test can find its backends in
`pg_stat_activity` (what they are running, whether they wait on a lock, whether they are gone).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.faults.private_postgres import free_port
from tests.server_process import COMMAND, stop, wait_until_serving


@dataclass
class ServerProcess:
    """One `studentgroups serve` process; its base URL, its PostgreSQL application name, its log."""

    process: subprocess.Popen[bytes]
    url: str
    application_name: str
    log_path: Path

    def kill(self) -> None:
        """SIGKILL: the process dies at once, with no chance to roll back or close anything."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def log(self) -> str:
        """What the server wrote on standard error (its warnings and errors)."""
        return self.log_path.read_text(errors="replace")


@contextmanager
def server_process(database_url: str, **settings: str) -> Iterator[ServerProcess]:
    """`studentgroups serve` on the database, with `STUDENTGROUPS_<NAME>` settings; stopped afterwards
    (unless the test killed it)."""
    name = f"sg-faults-{uuid.uuid4().hex[:10]}"
    url = make_url(database_url).update_query_dict({"application_name": name})
    env = {
        **os.environ,
        "STUDENTGROUPS_DATABASE_URL": url.render_as_string(hide_password=False),
        "STUDENTGROUPS_LOG_LEVEL": "warning",
        **{f"STUDENTGROUPS_{key.upper()}": value for key, value in settings.items()},
    }
    port = free_port()
    with tempfile.NamedTemporaryFile(prefix="sg-server-", suffix=".log", delete=False) as log:
        log_path = Path(log.name)
        process = subprocess.Popen(
            [COMMAND, "serve", "--port", str(port)],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", name, log_path)
    try:
        wait_until_serving(server.url, process, log=lambda: server.log()[-3000:])
        yield server
    finally:
        if process.poll() is None:
            stop(process)
        log_path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Backend:
    """A PostgreSQL backend, as `pg_stat_activity` shows it."""

    pid: int
    state: str | None
    query: str
    wait_event_type: str | None


def backends(conn: psycopg.Connection, application_name: str) -> list[Backend]:
    """The backends of the server with this application name (`conn` is in autocommit mode)."""
    rows = conn.execute(
        "SELECT pid, state, query, wait_event_type FROM pg_stat_activity WHERE application_name = %s",
        (application_name,),
    ).fetchall()
    return [Backend(pid, state, query or "", wait) for pid, state, query, wait in rows]


def wait_for(
    condition: Callable[[], Backend | bool | None], *, timeout: float, every: float = 0.002, what: str
) -> Backend | bool:
    """Poll `condition` until it answers something true; that answer. Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = condition()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(every)
