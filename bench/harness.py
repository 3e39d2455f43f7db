"""A Hoiva server with a nurse and enrolled clients, in this process, for benchmarks."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from care_sessions.identity import Client, ClientSettings, Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from hoiva.app import SERVICES, build_app
from hoiva.config import load_config
from hoiva.services import Services
from tests.conftest import free_port

NURSE = ("bench-nurse", "bench-nurse-password")


@dataclass
class BenchServer:
    url: str
    services: Services
    runner: web.AppRunner
    tablet_tokens: dict[str, str]

    async def close(self) -> None:
        await self.runner.cleanup()


async def start_bench_server(
    clients: int = 1, overrides: dict[str, object] | None = None
) -> BenchServer:
    workdir = Path(tempfile.mkdtemp(prefix="hoiva-bench-"))
    config = load_config(
        env={},
        overrides={
            "server.port": free_port(),
            "database.url": f"sqlite+aiosqlite:///{workdir}/bench.sqlite3",
            **(overrides or {}),
        },
    )
    app = await build_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, config.server.host, config.server.port).start()
    services = app[SERVICES]
    admin = StaffUser(
        str(uuid.uuid4()), "bench-admin", "Admin", Role.ADMIN, hash_password("x" * 12)
    )
    await services.store.add_staff(admin)
    await services.store.add_staff(
        StaffUser(str(uuid.uuid4()), NURSE[0], "Bench Nurse", Role.NURSE, hash_password(NURSE[1]))
    )
    tokens = {}
    for index in range(clients):
        client = Client(str(uuid.uuid4()), f"Client{index}", "Bench", ClientSettings())
        await services.store.add_client(client)
        code = await services.auth.issue_pairing_code(client.id, admin.id)
        tokens[client.id] = (await services.auth.redeem_pairing_code(code.code)).token
    return BenchServer(
        f"http://{config.server.host}:{config.server.port}", services, runner, tokens
    )
