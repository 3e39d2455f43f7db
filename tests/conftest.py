"""Shared fixtures: a real Hoiva server on 127.0.0.1 with a real SQLite file, and its people."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from yarl import URL

from care_sessions.identity import Client, ClientSettings, Language, Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from hoiva.app import SERVICES, build_app
from hoiva.config import Config, load_config
from hoiva.services import Services
from media.ice import use_host_addresses

NURSE_PASSWORD = "nurse-test-password"
ADMIN_PASSWORD = "admin-test-password"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    services: Services
    runner: web.AppRunner
    nurses: list[StaffUser] = field(default_factory=list)
    admin: StaffUser | None = None
    clients: list[Client] = field(default_factory=list)

    @property
    def url_obj(self) -> URL:
        return URL(self.url)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1) + "/ws"

    async def add_client(
        self, first_name: str, *, auto_answer: bool = False, after_s: int = 0
    ) -> Client:
        client = Client(
            id=str(uuid.uuid4()),
            first_name=first_name,
            last_name="Testinen",
            settings=ClientSettings(
                language=Language.EN, auto_answer=auto_answer, auto_answer_after_s=after_s
            ),
        )
        await self.services.store.add_client(client)
        self.clients.append(client)
        return client

    async def enrol_tablet(self, client: Client) -> str:
        """A device token for the client, through the real pairing-code path."""
        assert self.admin is not None
        issued = await self.services.auth.issue_pairing_code(client.id, self.admin.id)
        return (await self.services.auth.redeem_pairing_code(issued.code)).token

    async def add_staff(self, username: str, role: Role, password: str) -> StaffUser:
        user = StaffUser(
            id=str(uuid.uuid4()),
            username=username,
            display_name=username.title(),
            role=role,
            password_hash=hash_password(password),
        )
        await self.services.store.add_staff(user)
        return user


def make_config(tmp_path: Path, **overrides: object) -> Config:
    base: dict[str, object] = {
        "server.port": free_port(),
        "database.url": f"sqlite+aiosqlite:///{tmp_path}/hoiva.sqlite3",
        "calls.ring_timeout_s": 5.0,
        "calls.drop_grace_s": 2.0,
    }
    base.update(overrides)
    return load_config(env={}, overrides=base)


@contextlib.asynccontextmanager
async def serving(config: Config) -> AsyncIterator[RunningServer]:
    """A real server with this configuration for the body of the block, then cleaned up."""
    running = await start_server(config)
    try:
        yield running
    finally:
        await running.runner.cleanup()


async def start_server(config: Config) -> RunningServer:
    app = await build_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, config.server.host, config.server.port).start()
    server = RunningServer(
        url=f"http://{config.server.host}:{config.server.port}",
        services=app[SERVICES],
        runner=runner,
    )
    server.admin = await server.add_staff("admin", Role.ADMIN, ADMIN_PASSWORD)
    server.nurses = [
        await server.add_staff("nurse1", Role.NURSE, NURSE_PASSWORD),
        await server.add_staff("nurse2", Role.NURSE, NURSE_PASSWORD),
    ]
    return server


@pytest.fixture(autouse=True, scope="session")
def media_on_loopback() -> None:
    """Headless peers in this process gather candidates on 127.0.0.1 only (media.ice)."""
    use_host_addresses(["127.0.0.1"])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serving(make_config(tmp_path)) as running:
        yield running


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """In CI nothing may be skipped: a skip there means a missing install step."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, which must run everything: {report.longrepr}"


# How long past its own pytest-timeout a test may still run before the whole run is stopped.
WATCHDOG_GRACE_S = 90.0


class _Watchdog:
    """A thread of our own that ends the run, printing every thread's stack, when a test
    outlives its deadline.

    pytest-timeout's timer and pytest's faulthandler timer are both cancelled the moment a
    test fails (their pytest_exception_interact hooks), so a teardown that then hangs (a task
    that ignores cancellation, a worker thread that never returns and holds the event loop's
    shutdown) would sit until CI's own limit with no clue. Nothing cancels this one."""

    def __init__(self, config: pytest.Config) -> None:
        self._config = config
        self._deadline: float | None = None
        self._test = ""
        self._lock = threading.Lock()
        threading.Thread(target=self._watch, name="test-watchdog", daemon=True).start()

    def arm(self, test: str, seconds: float) -> None:
        with self._lock:
            self._test, self._deadline = test, time.monotonic() + seconds

    def disarm(self) -> None:
        with self._lock:
            self._deadline = None

    def _watch(self) -> None:
        while True:
            time.sleep(1.0)
            with self._lock:
                expired = self._deadline is not None and time.monotonic() > self._deadline
                test = self._test
            if expired:
                # pytest holds fd 2 for its output capture; give the terminal back first.
                capture = self._config.pluginmanager.getplugin("capturemanager")
                with contextlib.suppress(Exception):
                    capture.suspend_global_capture(in_=False)
                err = sys.__stderr__
                assert err is not None
                err.write(f"\n\nwatchdog: {test} is hung; stacks of every thread:\n")
                err.flush()
                faulthandler.dump_traceback(file=err, all_threads=True)
                err.flush()
                os._exit(3)


_watchdog: _Watchdog | None = None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """Arm the watchdog for the whole of a test: setup, call and teardown."""
    global _watchdog
    if _watchdog is None:
        _watchdog = _Watchdog(item.config)
    marker = item.get_closest_marker("timeout")
    limit = (
        float(marker.args[0]) if marker and marker.args else float(item.config.getini("timeout"))
    )
    _watchdog.arm(item.nodeid, limit + WATCHDOG_GRACE_S)
    try:
        yield
    finally:
        _watchdog.disarm()
