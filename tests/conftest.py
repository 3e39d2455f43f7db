"""Shared fixtures: a real Hoiva server on 127.0.0.1 with a real SQLite file, and its people."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from yarl import URL

from care_sessions.identity import Client, ClientSettings, Language, Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from hoiva.app import SERVICES, build_app
from hoiva.config import Config, load_config
from hoiva.services import Services
from media.ice import use_host_addresses
from tests import processes
from tests.hang_guard import WATCHDOG_GRACE_S, HangGuard, is_coroutine_test

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


_guard: HangGuard | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Servers the suite starts die with it; a hung test fails alone (tests/hang_guard.py)."""
    global _guard
    processes.install()
    _guard = HangGuard(config)
    signal.signal(signal.SIGALRM, _guard.on_alarm)


@pytest.hookimpl(optionalhook=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool:
    """Take over pytest-timeout's timer: fail the hung test, never the run."""
    assert _guard is not None
    _guard.set_timer(item, float(settings.timeout))
    return True


@pytest.hookimpl(optionalhook=True)
def pytest_timeout_cancel_timer(item: pytest.Item) -> bool:
    assert _guard is not None
    _guard.cancel_timer()
    return True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item):  # type: ignore[no-untyped-def]
    """Let the timer reach a coroutine test's task, to cancel it rather than the run."""
    assert _guard is not None
    if not is_coroutine_test(item):
        yield
        return
    assert isinstance(item, pytest.Function)
    original = item.obj
    item.obj = _guard.guard_coroutine(original)
    try:
        yield
    finally:
        item.obj = original


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):  # type: ignore[no-untyped-def]
    """Arm the last-resort watchdog for the whole of a test: setup, call and teardown."""
    assert _guard is not None
    marker = item.get_closest_marker("timeout")
    limit = (
        float(marker.args[0]) if marker and marker.args else float(item.config.getini("timeout"))
    )
    _guard.arm(item.nodeid, limit + WATCHDOG_GRACE_S)
    try:
        yield
    finally:
        _guard.disarm()
