"""A private PostgreSQL cluster for one test: made with initdb in a temporary directory, on a free
port, trust authentication, stopped and removed afterwards. Tests may stop and start it at will,
which they must never do to the shared server other tests run on.

Run as root, every PostgreSQL binary runs as the `postgres` user (`runuser`), in a directory that
user owns: PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

OS_USER = "postgres"
"""Who runs the cluster when the tests run as root."""


def postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.CalledProcessError):
            pass

    def version(bindir: str) -> int:
        name = Path(bindir).parent.name
        return int(name) if name.isdigit() else 0

    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)]
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    return None


def why_unavailable() -> str | None:
    """Why no private cluster can be made here, or None when one can."""
    if postgres_bindir() is None:
        return "no initdb and pg_ctl, neither in `pg_config --bindir` nor in /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and `runuser` is missing (PostgreSQL refuses to run as root)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PrivatePostgres:
    """One private cluster: its binaries, data directory and port."""

    bindir: Path
    home: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def logfile(self) -> Path:
        return self.home / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for a database of the cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres", *, autocommit: bool = True) -> psycopg.Connection:
        """A driver connection, as the superuser."""
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            dbname=database,
            autocommit=autocommit,
            connect_timeout=5,
        )

    def _run(self, tool: str, *args: str, timeout: float = 60) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        done = subprocess.run(
            command, check=False, capture_output=True, text=True, timeout=timeout, cwd=self.home
        )
        if done.returncode != 0:
            log = self.logfile.read_text(errors="replace")[-2000:] if self.logfile.exists() else ""
            raise RuntimeError(f"{tool} {' '.join(args)} failed: {done.stderr or done.stdout}\n{log}")

    def init(self) -> None:
        self._run(
            "initdb",
            "--pgdata",
            str(self.datadir),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def start(self) -> None:
        """Start the cluster and wait until it accepts connections."""
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-c unix_socket_directories={self.home}",
                "-c fsync=off",  # a throwaway cluster: speed over durability against power loss
                "-c max_connections=100",
            ]
        )
        self._run(
            "pg_ctl",
            "start",
            "--pgdata",
            str(self.datadir),
            "--log",
            str(self.logfile),
            "--wait",
            "--timeout=60",
            "-o",
            options,
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the cluster; `fast` (the default) terminates every client's connection at once."""
        self._run("pg_ctl", "stop", "--pgdata", str(self.datadir), "--wait", "--timeout=60", "--mode", mode)

    @property
    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A new cluster, running; stopped and removed afterwards, whatever the test did to it."""
    bindir = postgres_bindir()
    if bindir is None:
        raise RuntimeError(why_unavailable())
    home = Path(tempfile.mkdtemp(prefix="sg-private-pg-"))
    try:
        if os.geteuid() == 0:
            user = pwd.getpwnam(OS_USER)
            os.chown(home, user.pw_uid, user.pw_gid)
        cluster = PrivatePostgres(bindir=bindir, home=home, port=free_port())
        cluster.init()
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.running:
                cluster.stop("immediate")
    finally:
        shutil.rmtree(home, ignore_errors=True)
