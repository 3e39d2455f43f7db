"""A private, loopback-only Janus for bench/sfu.py, and a small client for its VideoRoom API.

Janus is Debian's `janus` package, started as our own process (never the packaged service)
with a configuration written to a temporary folder from the templates beside this file: HTTP
API on 127.0.0.1 only, no STUN/TURN, only the videoroom plugin and the HTTP transport (their
folders hold nothing else), ICE on 127.0.0.1 only.  Janus skips loopback interfaces while
gathering, so it runs under `loopback_shim.c` (LD_PRELOAD), compiled with gcc into the same
temporary folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import string
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

_HERE = Path(__file__).resolve().parent
_LIBRARY_ROOTS = ("/usr/lib/x86_64-linux-gnu/janus", "/usr/lib/janus", "/opt/janus/lib/janus")
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 5.0
_REQUEST_TIMEOUT = 15.0
_POLL_TIMEOUT = 40.0  # Janus answers a long poll with a keepalive after 30 s


class JanusError(RuntimeError):
    """Janus could not be started, or refused a request."""


class VideoRoomError(JanusError):
    """The videoroom plugin answered a request with an error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"videoroom error {code}: {message}")
        self.code = code


@dataclass(frozen=True)
class JanusInstall:
    """Where the janus binary and the two shared objects we load live."""

    binary: str
    videoroom_plugin: Path
    http_transport: Path


def find_janus() -> JanusInstall | None:
    """The installed Janus, or None where the binary or its videoroom plugin is absent."""
    binary = shutil.which("janus")
    if binary is None:
        return None
    for root in _LIBRARY_ROOTS:
        plugin = Path(root, "plugins", "libjanus_videoroom.so")
        transport = Path(root, "transports", "libjanus_http.so")
        if plugin.exists() and transport.exists():
            return JanusInstall(binary, plugin, transport)
    return None


def child_command(command: list[str], cpu: int | None) -> list[str]:
    """`command` pinned to `cpu` (taskset) and ended with its parent (setpriv --pdeathsig).

    Both tools exec the command in place, so the pid we get is the command's own; the death
    signal covers the case where the benchmark is killed before its cleanup can run.
    """
    if shutil.which("setpriv"):
        command = ["setpriv", "--pdeathsig", "TERM", "--", *command]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    return command


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def build_shim(workdir: Path) -> Path:
    """Compile the getifaddrs() shim into `workdir`."""
    source = _HERE / "loopback_shim.c"
    output = workdir / "loopback_shim.so"
    result = subprocess.run(
        ["gcc", "-shared", "-fPIC", "-O2", "-o", str(output), str(source), "-ldl"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise JanusError(f"cannot build the loopback shim: {result.stderr.strip()}")
    return output


def write_config(workdir: Path, install: JanusInstall, http_port: int) -> Path:
    """Fill the templates into `workdir`/conf; plugin and transport folders get one link each."""
    configs = workdir / "conf"
    plugins = workdir / "plugins"
    transports = workdir / "transports"
    empty = workdir / "empty"
    for folder in (configs, plugins, transports, empty):
        folder.mkdir(parents=True, exist_ok=True)
    (plugins / install.videoroom_plugin.name).symlink_to(install.videoroom_plugin)
    (transports / install.http_transport.name).symlink_to(install.http_transport)
    values = {
        "configs_folder": str(configs),
        "plugins_folder": str(plugins),
        "transports_folder": str(transports),
        "empty_folder": str(empty),
        "rtp_port_range": "30000-39999",
        "http_port": str(http_port),
    }
    for template in _HERE.glob("*.jcfg.in"):
        text = string.Template(template.read_text()).substitute(values)
        (configs / template.name.removesuffix(".in")).write_text(text)
    return configs / "janus.jcfg"


@dataclass
class JanusProcess:
    """A running Janus started by `start_janus`; `stop()` ends it by pid."""

    process: asyncio.subprocess.Process
    workdir: Path
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 20) -> str:
        log = self.workdir / "janus.log"
        if not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> None:
        try:
            if self.process.returncode is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(self.process.wait(), _STOP_TIMEOUT)
                except TimeoutError:
                    self.process.kill()
                    await self.process.wait()
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)


async def start_janus(install: JanusInstall, *, cpu: int | None = None) -> JanusProcess:
    """Start Janus on loopback with the private configuration; pinned to `cpu` if given."""
    workdir = Path(tempfile.mkdtemp(prefix="hoiva-janus-"))
    try:
        shim = build_shim(workdir)
        http_port = free_port()
        config = write_config(workdir, install, http_port)
        command = child_command(
            [
                install.binary,
                f"--configs-folder={config.parent}",
                f"--config={config}",
                f"--log-file={workdir / 'janus.log'}",
                "--disable-stdout",
                "--disable-colors",
            ],
            cpu,
        )
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            env={**os.environ, "LD_PRELOAD": str(shim)},
            cwd=workdir,
        )
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    janus = JanusProcess(process, workdir, f"http://127.0.0.1:{http_port}/janus")
    try:
        await _wait_ready(janus)
    except BaseException:
        await janus.stop()
        raise
    return janus


async def _wait_ready(janus: JanusProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while loop.time() < deadline:
            if janus.process.returncode is not None:
                code = janus.process.returncode
                raise JanusError(f"janus exited with {code}:\n{janus.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{janus.url}/info") as response:
                    info = await response.json(content_type=None)
                    if "janus.plugin.videoroom" in info.get("plugins", {}):
                        return
                    raise JanusError(f"janus started without the videoroom plugin: {info}")
            await asyncio.sleep(0.1)
    raise JanusError(f"janus did not answer within {_START_TIMEOUT} s:\n{janus.log_tail()}")


@dataclass
class VideoRoomClient:
    """One Janus session over the HTTP API, with a long-poll task that routes async events."""

    url: str
    _http: aiohttp.ClientSession | None = None
    _session_id: int | None = None
    _poller: asyncio.Task[None] | None = None
    _pending: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _transactions: itertools.count[int] = field(default_factory=itertools.count)

    async def open(self) -> None:
        self._http = aiohttp.ClientSession()
        reply = await self._post(self.url, {"janus": "create"})
        self._session_id = int(reply["data"]["id"])
        self._poller = asyncio.ensure_future(self._poll())

    async def close(self) -> None:
        if self._http is None:
            return
        try:
            if self._session_id is not None:
                with contextlib.suppress(Exception):
                    await self._post(f"{self.url}/{self._session_id}", {"janus": "destroy"})
        finally:
            if self._poller is not None:
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._poller
            for future in self._pending.values():
                future.cancel()
            await self._http.close()
            self._http = None

    async def attach(self) -> int:
        """Attach a new videoroom handle to the session; returns its id."""
        reply = await self._post(
            f"{self.url}/{self._session_id}",
            {"janus": "attach", "plugin": "janus.plugin.videoroom"},
        )
        return int(reply["data"]["id"])

    async def request(self, handle: int, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous videoroom request (create, list, ...); returns the plugin data."""
        reply = await self._post(
            f"{self.url}/{self._session_id}/{handle}", {"janus": "message", "body": body}
        )
        return _plugin_data(reply)

    async def message(
        self,
        handle: int,
        body: dict[str, Any],
        jsep: dict[str, Any] | None = None,
        *,
        timeout: float = _REQUEST_TIMEOUT,
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """An asynchronous videoroom request: waits for its event; (plugin data, jsep)."""
        transaction = self._next_transaction()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[transaction] = future
        payload: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            payload["jsep"] = jsep
        try:
            await self._post(
                f"{self.url}/{self._session_id}/{handle}", payload, transaction=transaction
            )
            event = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(transaction, None)
        return _plugin_data(event), event.get("jsep")

    def _next_transaction(self) -> str:
        return f"t{next(self._transactions)}"

    async def _post(
        self, url: str, payload: dict[str, Any], *, transaction: str | None = None
    ) -> dict[str, Any]:
        assert self._http is not None
        payload = {**payload, "transaction": transaction or self._next_transaction()}
        timeout = aiohttp.ClientTimeout(total=_REQUEST_TIMEOUT)
        async with self._http.post(url, json=payload, timeout=timeout) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(f"janus refused {payload.get('body') or payload['janus']}: {reply}")
        return reply

    async def _poll(self) -> None:
        assert self._http is not None
        url = f"{self.url}/{self._session_id}?maxev=50"
        timeout = aiohttp.ClientTimeout(total=_POLL_TIMEOUT)
        while True:
            try:
                async with self._http.get(url, timeout=timeout) as response:
                    events = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError):
                await asyncio.sleep(0.1)
                continue
            for event in events if isinstance(events, list) else [events]:
                future = self._pending.get(str(event.get("transaction")))
                if future is not None and not future.done() and event.get("janus") == "event":
                    future.set_result(event)


def _plugin_data(reply: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
    if "error_code" in data:
        raise VideoRoomError(int(data["error_code"]), str(data.get("error")))
    return data
