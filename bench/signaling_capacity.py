"""Signaling capacity: idle tablets one instance holds, and how fast messages are routed.

1. Idle connections: one `hoiva serve` process (clustered, over a private redis-server) and
   N tablets in this process, each a real WebSocket that said hello with its own device
   token and keeps sending the application ping every heartbeat. Reported: how many stayed
   connected through a heartbeat period, and the server's resident memory per connection
   (RSS growth from a 100-socket baseline, divided by the sockets added).
2. Routing latency: two instances (A, B) in this process over the same Redis, a tablet socket
   on each. At a steady rate, A's hub sends to a subject: on A itself ("local") or on B
   ("redis": A -> Redis pub/sub -> B -> B's socket). Latency is from the hub's send to the
   frame arriving at the client socket (one clock: everything runs in this process).

Media is not involved. Everything listens on 127.0.0.1. Prints one JSON object as its last line.
Run: .venv/bin/python -m bench.signaling_capacity [--tablets 15000] [--rate 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from aiohttp import web

from care_sessions.secrets_kdf import token_digest
from hoiva.app import SERVICES, build_app
from hoiva.config import load_config
from protocol.messages import Pong
from store import create_store_engine, migrate
from store import tables as t
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[1]
HEARTBEAT_S = 10


def _start_redis(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.3)
    return process, f"redis://127.0.0.1:{port}/0"


async def _seed_tablets(db_url: str, count: int) -> list[str]:
    """Clients and device tokens in bulk (pairing each one would only measure SQLite)."""
    engine = create_store_engine(db_url)
    await migrate(engine)
    now = datetime.now(UTC)
    tokens, clients, devices = [], [], []
    for index in range(count):
        client_id, token = str(uuid.uuid4()), f"bench-token-{uuid.uuid4().hex}"
        tokens.append(token)
        clients.append(
            {"id": client_id, "first_name": f"C{index}", "last_name": "Bench", "language": "fi",
             "auto_answer": False, "auto_answer_after_s": 10, "created_at": now}
        )  # fmt: skip
        devices.append(
            {"id": str(uuid.uuid4()), "client_id": client_id, "token_digest": token_digest(token),
             "label": "bench", "created_at": now}
        )  # fmt: skip
    async with engine.begin() as conn:
        await conn.execute(t.client.insert(), clients)
        await conn.execute(t.device.insert(), devices)
    await engine.dispose()
    return tokens


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class IdleTablet:
    """A tablet that said hello and now only pings every heartbeat."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self._http, self._url, self.token = http, url, token
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pongs = 0
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self.ws = await self._http.ws_connect(self._url, autoping=True, compress=0)
        await self.ws.send_str(json.dumps({"type": "hello", "token": self.token}))
        welcome = json.loads((await self.ws.receive(timeout=30)).data)
        if welcome.get("type") != "welcome":
            raise RuntimeError(f"refused: {welcome}")
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        assert self.ws is not None
        reader = asyncio.create_task(self._read())
        try:
            # Spread the pings over the period so they do not all arrive at once.
            await asyncio.sleep(HEARTBEAT_S * (hash(self.token) % 1000) / 1000)
            while not self.ws.closed:
                await self.ws.send_str('{"type":"ping"}')
                await asyncio.sleep(HEARTBEAT_S)
        finally:
            reader.cancel()

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT and '"pong"' in msg.data:
                self.pongs += 1

    @property
    def alive(self) -> bool:
        return self.ws is not None and not self.ws.closed

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self.ws is not None:
            await self.ws.close()


def _start_server(port: int, db_url: str, redis_url: str, workdir: Path) -> subprocess.Popen[bytes]:
    """One clustered `hoiva serve` process, so that its memory is its own."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "HOIVA_SIGNALING__HEARTBEAT_S": str(HEARTBEAT_S),
        "HOIVA_SIGNALING__MAX_CONNECTIONS_PER_ADDRESS": "100000",
        "HOIVA_SIGNALING__HELLO_TIMEOUT_S": "60",
        "HOIVA_LOG__LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "hoiva.cli", "serve", "--port", str(port), "--database-url",
         db_url, "--redis-url", redis_url, "--instance-id", "idle"],
        cwd=REPO, env=env, stdout=(workdir / "idle-server.log").open("ab"),
        stderr=subprocess.STDOUT,
    )  # fmt: skip


async def idle_capacity(count: int, redis_url: str, workdir: Path) -> dict[str, float]:
    db_url = f"sqlite+aiosqlite:///{workdir}/idle.sqlite3"
    tokens = await _seed_tablets(db_url, count + 100)
    port = free_port()
    server = _start_server(port, db_url, redis_url, workdir)
    url = f"ws://127.0.0.1:{port}/ws"
    tablets: list[IdleTablet] = []
    connector = aiohttp.TCPConnector(limit=0)
    http = aiohttp.ClientSession(connector=connector)
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}/healthz")
        for token in tokens[:100]:
            tablets.append(IdleTablet(http, url, token))
            await tablets[-1].connect()
        await asyncio.sleep(2)
        baseline = _rss_kb(server.pid)
        for start in range(100, count + 100, 100):
            batch = [IdleTablet(http, url, token) for token in tokens[start : start + 100]]
            results = await asyncio.gather(*(b.connect() for b in batch), return_exceptions=True)
            for tablet, result in zip(batch, results, strict=True):
                if result is not None:
                    # Connecting fast is not what this measures: one retry, then it counts.
                    await tablet.close()
                    tablet = IdleTablet(http, url, tablet.token)
                    with contextlib.suppress(Exception):
                        await tablet.connect()
                tablets.append(tablet)
        # Idle through more than one heartbeat period: pings from every tablet, server pings.
        await asyncio.sleep(HEARTBEAT_S * 2.5)
        alive = sum(1 for tablet in tablets if tablet.alive)
        answered = sum(1 for tablet in tablets if tablet.pongs > 0)
        grown = _rss_kb(server.pid) - baseline
        return {
            "idle_connections": min(alive, answered),
            "bytes_per_connection": round(grown * 1024 / max(1, len(tablets) - 100)),
        }
    finally:
        await asyncio.gather(*(tablet.close() for tablet in tablets), return_exceptions=True)
        await http.close()
        os.kill(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(server.pid, signal.SIGKILL)
            server.wait()


async def _wait_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never became healthy")


async def _instance(redis_url: str, db_url: str, instance_id: str) -> web.AppRunner:
    config = load_config(
        env={},
        overrides={
            "server.port": free_port(),
            "database.url": db_url,
            "bus.redis_url": redis_url,
            "bus.instance_id": instance_id,
            "signaling.max_connections_per_address": 1000,
        },
    )
    app = await build_app(config)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, config.server.host, config.server.port).start()
    return runner


async def routing_latency(
    redis_url: str, workdir: Path, rate: int, seconds: float
) -> dict[str, float]:
    db_url = f"sqlite+aiosqlite:///{workdir}/route.sqlite3"
    tokens = await _seed_tablets(db_url, 2)
    runners = [await _instance(redis_url, db_url, name) for name in ("route-a", "route-b")]
    http = aiohttp.ClientSession()
    try:
        sockets = []
        for runner, token in zip(runners, tokens, strict=True):
            port = runner.addresses[0][1]
            ws = await http.ws_connect(f"ws://127.0.0.1:{port}/ws")
            await ws.send_str(json.dumps({"type": "hello", "token": token}))
            welcome = json.loads((await ws.receive(timeout=10)).data)
            sockets.append((ws, welcome["subject_id"]))
        await asyncio.sleep(1.0)  # let B's registration reach A's mirror
        hub = runners[0].app[SERVICES].signaling.hub
        results = {}
        for label, (ws, subject) in (("local", sockets[0]), ("redis", sockets[1])):
            results[label] = await _measure(hub, ws, subject, rate, seconds)
        return {
            "route_p50_ms_local": results["local"][0],
            "route_p99_ms_local": results["local"][1],
            "route_p50_ms_redis": results["redis"][0],
            "route_p99_ms_redis": results["redis"][1],
        }
    finally:
        await http.close()
        for runner in runners:
            await runner.cleanup()


async def _measure(
    hub: object, ws: aiohttp.ClientWebSocketResponse, subject: str, rate: int, seconds: float
) -> tuple[float, float]:
    from signaling.hub import SignalingHub

    assert isinstance(hub, SignalingHub)
    total = int(rate * seconds)
    sent: dict[str, float] = {}
    latencies: list[float] = []

    async def receive() -> None:
        while len(latencies) < total:
            msg = await ws.receive(timeout=10)
            arrived = time.perf_counter()
            ref = json.loads(msg.data).get("ref")
            if ref in sent:
                latencies.append((arrived - sent.pop(ref)) * 1000)

    receiver = asyncio.create_task(receive())
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index in range(total):
        # A steady rate: wait for this message's slot, never burst to catch up.
        delay = started + index / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        ref = f"r{index}"
        sent[ref] = time.perf_counter()
        await hub.send_to(subject, Pong(ref=ref))
    await asyncio.wait_for(receiver, 30)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return round(statistics.median(ordered), 3), round(p99, 3)


async def run(tablets: int, rate: int, seconds: float) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="hoiva-capacity-"))
    redis, redis_url = _start_redis(workdir)
    try:
        routes = await routing_latency(redis_url, workdir, rate, seconds)
        idle = await idle_capacity(tablets, redis_url, workdir)
    finally:
        os.kill(redis.pid, signal.SIGTERM)
        redis.wait(10)
    return {**idle, **routes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tablets", type=int, default=15_000)
    parser.add_argument("--rate", type=int, default=1000, help="routed messages per second")
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    # SIGTERM unwinds like Ctrl+C, so the server and Redis this started are stopped too.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    result = asyncio.run(run(args.tablets, args.rate, args.seconds))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
