"""`studentgroups serve` keeps an idle client connection open for `KEEP_ALIVE_SECONDS` (75 by
default), not uvicorn's 5 s: a client (or a load balancer, 60 s idle on most) that reuses a
connection the server has just closed sees "connection reset by peer"."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from tests.server_process import served

HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def _answer(conn: socket.socket) -> bytes:
    """One whole answer to /healthz (its body is the last thing in it)."""
    data = b""
    while b'"ok"}' not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data  # the server closed the connection
        data += chunk
    return data


def test_an_idle_connection_outlives_uvicorns_five_seconds_and_serves_again(database_url: str) -> None:
    with served(database_url) as url:
        port = urlsplit(url).port
        assert port is not None
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
            conn.sendall(HEALTHZ)
            assert _answer(conn).startswith(b"HTTP/1.1 200")
            time.sleep(6)  # idle past uvicorn's own keep-alive: it would have closed the connection
            conn.sendall(HEALTHZ)
            assert _answer(conn).startswith(b"HTTP/1.1 200")
