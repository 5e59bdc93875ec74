"""The service as its own process (`studentgroups serve`), for tests that need several servers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

COMMAND = str(Path(sys.executable).with_name("studentgroups"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(database_url: str) -> Iterator[str]:
    """One `studentgroups serve` process on the database; its base URL. Stopped afterwards."""
    port = free_port()
    env = {**os.environ, "STUDENTGROUPS_DATABASE_URL": database_url, "STUDENTGROUPS_LOG_LEVEL": "warning"}
    process = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url, process)
        yield url
    finally:
        stop(process)


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], *, seconds: float = 30, log: Callable[[], str] = str
) -> None:
    """Return once the server at `url` answers /healthz; RuntimeError (with `log()`) if it exits
    or does not answer within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the server process did not start\n{log()}")
        time.sleep(0.1)


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group, SIGKILL if it is not gone within 20 s."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def several_servers(database_url: str, count: int) -> Iterator[list[str]]:
    """`count` server processes on one database; their base URLs."""
    with ExitStack() as stack:
        yield [stack.enter_context(served(database_url)) for _ in range(count)]
