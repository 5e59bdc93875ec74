"""What the benchmarks share: a throwaway database, the real server in a subprocess, a load generator.

The load generator speaks raw HTTP/1.1 with keep-alive over asyncio streams (uvloop), so that on
this 2-core machine it costs far less per request than the server it measures.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
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

import httpx
import psycopg
import uvloop
from sqlalchemy.engine import URL, make_url

from studentgroups.migrations import upgrade_database

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


def _admin_connection(server: URL) -> psycopg.Connection[Any]:
    return psycopg.connect(
        host=server.host,
        port=server.port or 5432,
        user=server.username,
        dbname=server.database,
        autocommit=True,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
def running_server(database_url: str, workers: int = 1) -> Iterator[Server]:
    """`studentgroups serve` in a subprocess, as a user starts it; stopped afterwards."""
    port = free_port()
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": database_url, "STUDENTGROUPS_LOG_LEVEL": "warning"}
    command = [
        str(Path(sys.executable).with_name("studentgroups")),
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    process = subprocess.Popen(command, env=env, start_new_session=True)
    server = Server(process, port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.1)
        yield server
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


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
