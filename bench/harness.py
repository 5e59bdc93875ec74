"""What the benchmarks share: a throwaway database, the real server in a subprocess, a load generator.

The load generator speaks raw HTTP/1.1 with keep-alive over asyncio streams (uvloop), so that on
this 2-core machine it costs far less per request than the server it measures.
"""

from __future__ import annotations

import asyncio
import io
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import uvloop
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the suite's server processes
from tests.server_process import free_port as free_port  # noqa: PLC0414  (the benches take it from here)
from tests.server_process import stop, wait_until_serving

import studentgroups.tables  # noqa: F401 - every table in Base.metadata
from studentgroups.db import Base, create_db_engine, create_session_factory, transaction
from studentgroups.groups.service import create_group
from studentgroups.instances.service import create_instance
from studentgroups.migrations import upgrade_database
from studentgroups.settings import Settings

PG_URL = os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def fresh_database(kind: str = "postgresql") -> Iterator[str]:
    """A new, migrated database (PostgreSQL at PG_URL, or a SQLite file); dropped afterwards."""
    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / f"sg-bench-{uuid.uuid4().hex[:8]}.db"
        url = f"sqlite:///{path}"
        upgrade_database(url)
        try:
            yield url
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    server = make_url(PG_URL)
    name = f"sg_bench_{uuid.uuid4().hex[:10]}"
    with _admin_connection(server) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        with _admin_connection(server) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_connection(url: str | URL, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """A bare psycopg connection to the PostgreSQL database that `url` names."""
    parsed = make_url(url)
    return psycopg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname=parsed.database,
        autocommit=autocommit,
    )


def _admin_connection(server: URL) -> psycopg.Connection[Any]:
    return pg_connection(server, autocommit=True)


BLOCK = 1 << 20
"""Bytes per write of a baseline's COPY."""


def _written_tables() -> list[Any]:
    """The service's tables, each after those its keys point to."""
    return list(Base.metadata.sorted_tables)


def copy_baseline(url: str, instance_id: int) -> float:
    """The floor a write of the instance's rows stands on: every row the instance holds (those an
    import wrote, and the few made before it), read out of the database, then loaded into a fresh
    database of the same schema (its keys, indexes and checks), table by table in one transaction:
    PostgreSQL's plain COPY of the rows as the server wrote them out, or on SQLite one prepared
    INSERT run for every row. Seconds the load and commit took."""
    tables = _written_tables()
    kind = make_url(url).get_backend_name()
    if kind == "postgresql":
        dumped: list[tuple[str, bytes]] = []
        with pg_connection(url) as pg:
            for table in tables:
                column = "id" if table.name == "instances" else "instance_id"
                order = ", ".join(c.name for c in table.primary_key.columns)
                buffer = io.BytesIO()
                query = (
                    f"COPY (SELECT * FROM {table.name} WHERE {column} = {int(instance_id)} "  # noqa: S608 - our names
                    f"ORDER BY {order}) TO STDOUT"
                )
                with pg.cursor().copy(query) as copy:
                    for block in copy:
                        buffer.write(block)
                dumped.append((table.name, buffer.getvalue()))
        with fresh_database("postgresql") as target, pg_connection(target) as pg:
            start = time.perf_counter()
            for name, data in dumped:
                with pg.cursor().copy(f"COPY {name} FROM STDIN") as copy:
                    for at in range(0, len(data), BLOCK):
                        copy.write(data[at : at + BLOCK])
            pg.commit()
            return time.perf_counter() - start
    source = sqlite3.connect(make_url(url).database or "")
    read: list[tuple[str, int, list[tuple[Any, ...]]]] = []
    for table in tables:
        column = "id" if table.name == "instances" else "instance_id"
        order = ", ".join(c.name for c in table.primary_key.columns)
        query = f"SELECT * FROM {table.name} WHERE {column} = ? ORDER BY {order}"  # noqa: S608 - our names
        cursor = source.execute(query, (instance_id,))
        read.append((table.name, len(cursor.description), cursor.fetchall()))
    source.close()
    with fresh_database("sqlite") as target:
        lite = sqlite3.connect(make_url(target).database or "")
        lite.execute("PRAGMA foreign_keys=ON")
        start = time.perf_counter()
        for name, width, rows in read:
            lite.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * width)})", rows)  # noqa: S608
        lite.commit()
        took = time.perf_counter() - start
        lite.close()
        return took


class DriverQuery:
    """One query through the bare driver (psycopg or sqlite3) on one open connection: what a
    benchmark's baseline reads, without the service. `sql` has `{p}` where each parameter goes."""

    def __init__(self, url: str, sql: str) -> None:
        parsed = make_url(url)
        self.conn: Any
        if parsed.get_backend_name() == "postgresql":
            self.conn = pg_connection(parsed)
            self.sql = sql.format(p="%s")
        else:
            self.conn = sqlite3.connect(parsed.database or "")
            self.sql = sql.format(p="?")

    def rows(self, *params: Any) -> list[Any]:
        """Every row, fetched; the transaction ended."""
        rows = self.conn.execute(self.sql, params).fetchall()
        if isinstance(self.conn, psycopg.Connection):
            self.conn.rollback()
        return list(rows)

    def close(self) -> None:
        self.conn.close()


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the server and its children, in MB."""
        pids = [self.process.pid, *_children(self.process.pid)]
        total = 0
        for pid in pids:
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                continue
        return total / 1024


def _children(pid: int) -> list[int]:
    try:
        out = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return []
    return [int(p) for p in out] + [c for p in out for c in _children(int(p))]


@contextmanager
def running_server(database_url: str, workers: int = 1, *, rate_limited: bool = False) -> Iterator[Server]:
    """`studentgroups serve` in a subprocess, as a user starts it; stopped afterwards.

    The benchmarks drive one key far past any rate limit, so the limiter is off unless asked for
    (`rate_limited`: the service's defaults, as the soak runs it).
    """
    port = free_port()
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": database_url, "STUDENTGROUPS_LOG_LEVEL": "warning"}
    if not rate_limited:
        env["STUDENTGROUPS_RATE_LIMIT_PER_MINUTE"] = "0"
    command = [
        str(Path(sys.executable).with_name("studentgroups")),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with spawned(command, port, env=env) as server:
        yield server


@contextmanager
def spawned(
    command: list[str],
    port: int,
    *,
    env: dict[str, str] | None = None,
    seconds: float = 30,
    quiet: bool = False,
) -> Iterator[Server]:
    """A server process started by `command`, once it answers /healthz on `port`; stopped afterwards."""
    stderr = subprocess.DEVNULL if quiet else None
    process = subprocess.Popen(command, env=env, start_new_session=True, stderr=stderr)
    server = Server(process, port)
    try:
        wait_until_serving(server.url, process, seconds=seconds, log=lambda: " ".join(command))
        yield server
    finally:
        stop(process)


@contextmanager
def bench_instance(database_url: str) -> Iterator[tuple[Session, int, str]]:
    """A new instance named "bench" in one transaction, committed when the block ends: the
    session, the instance's id and its admin key."""
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        with transaction(create_session_factory(engine)) as session:
            instance, issued = create_instance(session, name="bench")
            yield session, instance.id, issued.secret
    finally:
        engine.dispose()


def one_group(database_url: str) -> tuple[str, int]:
    """A new instance with one group, made as an operator would; its admin key and the group's id."""
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        with transaction(create_session_factory(engine)) as session:
            instance, issued = create_instance(session, name="bench")
            group = create_group(
                session,
                instance_id=instance.id,
                name="2nd year associates financial services",
                student_cluster_id=None,
                creator_id=issued.user.id,
            )
            return issued.secret, group.id
    finally:
        engine.dispose()


@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def summary(self) -> dict[str, float | int]:
        return {
            "requests_per_s": round(self.rps, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "requests": self.requests,
            "errors": self.errors,
        }


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def load(
    port: int, path: str, headers: dict[str, str], *, connections: int, seconds: float, warmup: float = 1.0
) -> LoadResult:
    """GET `path` from `connections` keep-alive connections for `seconds` (after a warm-up)."""
    return uvloop.run(_load(port, path, headers, connections, seconds, warmup))


async def _load(
    port: int, path: str, headers: dict[str, str], connections: int, seconds: float, warmup: float
) -> LoadResult:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}\r\n".encode()
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0}
    start = time.perf_counter()
    measure_from = start + warmup
    stop_at = measure_from + seconds

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while True:
                sent = time.perf_counter()
                if sent >= stop_at:
                    return
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                done = time.perf_counter()
                if sent >= measure_from:
                    counts["requests"] += 1
                    latencies.append((done - sent) * 1000)
                    if not status_line.startswith(b"HTTP/1.1 200"):
                        counts["errors"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return LoadResult(counts["requests"], counts["errors"], seconds, latencies)


def median(values: list[float]) -> float:
    return statistics.median(values)


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants, the process first."""
    return [pid, *_children(pid)]


def rss_mb_of(pid: int) -> float | None:
    """One process's resident memory in MB, or None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cpu_seconds_of(pid: int) -> float | None:
    """CPU seconds (user + system) one process has used so far, or None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat.rsplit(")", 1)[1].split()  # the command name may hold spaces; it ends at ")"
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def command_line_of(pid: int) -> str:
    """A process's command line, spaces between its arguments ("" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


@dataclass
class RawResponse:
    status: int
    headers: dict[bytes, bytes]
    """Header names lower-cased; the last of a repeated header wins."""
    body: bytes


class RawConnection:
    """One keep-alive HTTP/1.1 client connection in raw bytes, as `_load` speaks, with request
    bodies (Content-Length). Reopens itself after the server closes it (`Connection: close`)."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.opened = 0
        """How many times a TCP connection was opened (1 while the server keeps it alive)."""

    async def request(
        self,
        method: str,
        path: str,
        head: bytes = b"",
        body: bytes | None = None,
        content_type: bytes = b"application/json",
    ) -> RawResponse:
        """Send one request (`head`: extra header lines, each ending in CRLF) and read its answer."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            self.opened += 1
        reader, writer = self._reader, self._writer
        assert reader is not None
        start = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n".encode()
        if body is None:
            writer.write(start + head + b"\r\n")
        else:
            writer.write(
                b"%s%sContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (start, head, content_type, len(body), body)
            )
        try:
            status, headers = await _read_head(reader)
            answer = await _read_body(reader, headers)
        except BaseException:
            self.close()
            raise
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return RawResponse(status, headers, answer)

    def close(self) -> None:
        """Close the TCP connection (the next request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionResetError("the server closed the connection before answering")
    headers: dict[bytes, bytes] = {}
    while True:
        line = await reader.readline()
        if line == b"\r\n":
            return int(status_line[9:12]), headers
        if not line:
            raise ConnectionResetError("the server closed the connection inside the headers")
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()


async def _read_body(reader: asyncio.StreamReader, headers: dict[bytes, bytes]) -> bytes:
    if b"content-length" in headers:
        return await reader.readexactly(int(headers[b"content-length"]))
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        return await _read_chunked(reader)
    if headers.get(b"connection", b"").lower() == b"close":
        return await reader.read()
    return b""


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readline()).split(b";", 1)[0], 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
