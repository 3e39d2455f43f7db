"""The shipped nginx configuration, running in front of a test's instances.

`render_nginx_conf` takes `deploy/nginx/nginx.conf` (the file compose.yaml mounts) and
changes only what a test must: the instances' ports in the upstream, the listen address, and
where nginx keeps its pid, logs and temporary files. Everything users depend on (balancing,
the WebSocket upgrade, timeouts, `proxy_next_upstream` on a draining instance's 503) is the
production file's own text. `NginxProxy` runs Debian's nginx on it as a child process and
stops it by its pid.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]
NGINX_CONF = REPO / "deploy" / "nginx" / "nginx.conf"
# Debian puts it in /usr/sbin, which is not on every user's PATH.
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")

_UPSTREAM = re.compile(r"(upstream hoiva \{\n)(.*?)(\n\s*\})", re.DOTALL)
_SERVER_LINE = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+( [^;]*)?;$", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen \d+;$", re.MULTILINE)
_HTTP_OPEN = re.compile(r"^http \{$", re.MULTILINE)
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_nginx_conf(
    source: str, *, listen_port: int, upstream_ports: Sequence[int], run_dir: Path
) -> str:
    """The production config with the test's ports and private run paths substituted in."""
    upstream = _UPSTREAM.search(source)
    if upstream is None:
        raise ValueError("nginx.conf: no `upstream hoiva { ... }` block")
    servers = list(_SERVER_LINE.finditer(upstream.group(2)))
    if not servers or not upstream_ports:
        raise ValueError("nginx.conf: the upstream lists no `server 127.0.0.1:PORT ...;`")
    # Each test instance gets the production server line (its parameters: max_fails, ...).
    indent, params = servers[0].group(1), servers[0].group(2) or ""
    body = upstream.group(2)
    first, last = servers[0].start(), servers[-1].end()
    lines = "\n".join(f"{indent}server 127.0.0.1:{port}{params};" for port in upstream_ports)
    body = body[:first] + lines + body[last:]
    rendered = source[: upstream.start(2)] + body + source[upstream.end(2) :]

    rendered, listens = _LISTEN.subn(rf"\g<1>listen 127.0.0.1:{listen_port};", rendered)
    if listens != 1:
        raise ValueError(f"nginx.conf: expected one `listen PORT;`, found {listens}")
    # Debian's build writes its logs and temporary files under /var; a test keeps its own.
    private = [f"    access_log {run_dir / 'access.log'};"]
    private += [f"    {name}_temp_path {run_dir / name};" for name in _TEMP_PATHS]
    rendered, opened = _HTTP_OPEN.subn("http {\n" + "\n".join(private), rendered)
    if opened != 1:
        raise ValueError("nginx.conf: expected one top-level `http {`")
    return rendered


class NginxProxy:
    """Debian's nginx on the shipped config, in front of the given instance ports."""

    def __init__(self, run_dir: Path) -> None:
        self.port = free_port()
        self.run_dir = run_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._workers: set[int] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, upstream_ports: Sequence[int]) -> None:
        if NGINX is None:
            pytest.skip("needs nginx (apt-get install nginx)")
        self.run_dir.mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                NGINX_CONF.read_text(),
                listen_port=self.port,
                upstream_ports=upstream_ports,
                run_dir=self.run_dir,
            )
        )
        # Main-context settings for a child process: in the foreground (so the pid we hold
        # is the master's), our own pid file and error log. As root, nginx would switch its
        # workers to `nobody`, who cannot read the test's private (0700) temp directories.
        globals_ = [f"pid {self.run_dir / 'nginx.pid'};", "daemon off;"]
        if os.geteuid() == 0:
            globals_.append("user root;")
        args = [
            NGINX,
            "-p", str(self.run_dir),
            "-e", str(self.run_dir / "error.log"),
            "-c", str(conf),
            "-g", " ".join(globals_),
        ]  # fmt: skip
        checked = subprocess.run([*args, "-t"], capture_output=True, text=True, check=False)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx rejected the rendered config:\n{checked.stderr}")
        log = (self.run_dir / "stderr.log").open("ab")
        self._process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        self._wait_listening(10)

    def _wait_listening(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.5),
            ):
                self._workers = _children_of(self._process.pid)
                return
            time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.log()}")

    def log(self) -> str:
        parts = []
        for name in ("error.log", "stderr.log"):
            path = self.run_dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop the master (it stops its workers); any worker it left behind, by its pid."""
        process, self._process = self._process, None
        if process is None:
            return
        workers = self._workers
        if process.poll() is None:
            workers |= _children_of(process.pid)
            os.kill(process.pid, signal.SIGTERM)  # fast shutdown: open sockets are closed
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
        for pid in workers:
            # Normally gone with the master; one that outlived a killed master is orphaned
            # (its parent now init) and still named nginx: only then is it ours to end.
            if _orphaned_nginx(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _children_of(pid: int) -> set[int]:
    with contextlib.suppress(OSError, ValueError):
        return {int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    return set()


def _orphaned_nginx(pid: int) -> bool:
    with contextlib.suppress(OSError, ValueError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        name, rest = stat.split("(", 1)[1].rsplit(")", 1)
        return name == "nginx" and int(rest.split()[1]) == 1
    return False
