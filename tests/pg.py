"""A real, throwaway PostgreSQL server for tests and benchmarks.

The test suite runs in a loopback-only network namespace where the machine's own
PostgreSQL is out of reach, so each session starts its own cluster: initdb into a fresh
directory, listen on 127.0.0.1 at a free port (and on a Unix socket in that directory),
and stop it with `pg_ctl stop -m immediate` at the end. As root the server must run as the
`postgres` user, which PostgreSQL insists on.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests import processes

SUPERUSER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server binaries on this machine (CI installs the `postgresql` package)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb and pg_ctl."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parent.parent.name.split(".")[0]),
    )
    if not candidates:
        raise PostgresUnavailable(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
            "apt-get install postgresql"
        )
    return Path(candidates[-1]).parent


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    port: int
    run_as: str | None
    postmaster_pid: int | None = None

    def _command(self, *args: str) -> list[str]:
        if self.run_as is None:
            return list(args)
        return ["runuser", "-u", self.run_as, "--", *args]

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            self._command(*args), capture_output=True, text=True, check=False, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {result.stdout}{result.stderr}")

    def start(self) -> None:
        self._run(
            str(self.bin_dir / "initdb"),
            "-D",
            str(self.data_dir / "data"),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-k {self.data_dir}",
                # A test cluster need not survive a power cut: skip the disk flushes.
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=200",
            ]
        )
        self._run(
            str(self.bin_dir / "pg_ctl"),
            "-D",
            str(self.data_dir / "data"),
            "-l",
            str(self.data_dir / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        self.postmaster_pid = self._read_postmaster_pid()
        if self.postmaster_pid is not None:
            processes.register_group(self.postmaster_pid, f"PostgreSQL on port {self.port}")

    def _read_postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "data" / "postmaster.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        subprocess.run(
            self._command(
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data_dir / "data"),
                "-m",
                "immediate",
                "stop",
            ),
            capture_output=True,
            check=False,
            timeout=60,
        )
        pid = self.postmaster_pid or self._read_postmaster_pid()
        if pid is not None:
            processes.unregister_group(pid)
            # pg_ctl failed or timed out: the server must not outlive the run all the same.
            with contextlib.suppress(OSError):
                if b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    os.killpg(pid, signal.SIGKILL)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its SQLAlchemy asyncpg URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        self._run(
            str(self.bin_dir / "createdb"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            SUPERUSER,
            name,
        )
        return self.url(name)

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"


@contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """Start a private PostgreSQL cluster; stop it and delete its files afterwards."""
    bin_dir = find_bin_dir()
    # Not under pytest's tmp_path: its parent is private to root and postgres cannot enter.
    data_dir = Path(tempfile.mkdtemp(prefix="hoiva-pg-"))
    run_as = None
    if os.geteuid() == 0:
        run_as = SUPERUSER
        account = pwd.getpwnam(SUPERUSER)
        os.chown(data_dir, account.pw_uid, account.pw_gid)
    server = PostgresServer(bin_dir, data_dir, _free_port(), run_as)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
