"""Real parts for the multi-instance tests: a redis-server process, Hoiva instance processes,
and Debian's nginx running the shipped deploy/nginx/nginx.conf in front of them (proxy.py).

Everything listens on 127.0.0.1 only. The tests run inside a loopback-only namespace
(scripts/test), where the machine's own Redis is not reachable, so each test starts its own
redis-server on a free port. Every process started here is stopped by its pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from care_sessions.auth import AuthService
from care_sessions.clock import SystemClock
from care_sessions.identity import Client, ClientSettings, Language, Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from media.ice import use_host_addresses
from store import SqlStore, create_store_engine, migrate
from tests.conftest import NURSE_PASSWORD, free_port
from tests.pg import PostgresServer, PostgresUnavailable, throwaway_postgres
from tests.scaleout.proxy import NginxProxy

REPO = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")


async def until(predicate: Callable[[], bool], timeout: float) -> float:
    """Seconds until predicate() holds; TimeoutError after `timeout`."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while True:
            if predicate():
                return time.monotonic() - started
            await asyncio.sleep(0.02)


class RedisServer:
    """A real redis-server on 127.0.0.1, without persistence (a restart loses everything)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if REDIS_SERVER is None:
            pytest.skip("needs redis-server (apt-get install redis-server)")
        self._workdir.mkdir(parents=True, exist_ok=True)
        log = (self._workdir / "redis.log").open("ab")
        self._process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", str(self._workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self._ping():
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def _ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@dataclass
class Instance:
    """One `hoiva serve` process of the cluster."""

    instance_id: str
    port: int
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        await self.wait_healthy(60)

    async def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.returncode is not None:
                    raise RuntimeError(f"{self.instance_id} exited:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.instance_id} did not become healthy:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def times_joined(self) -> int:
        """How often this instance has (re)joined the cluster: at start and after each outage,
        once it announced everything it holds and reloaded its view of the others."""
        return self.log_path.read_text(errors="replace").count("(re)joined the cluster")

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)

    def terminate(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGTERM)

    async def wait_exit(self, timeout: float) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        os.kill(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            os.kill(process.pid, signal.SIGKILL)
            await process.wait()


@dataclass
class Cluster:
    """A shared database, a Redis, and Hoiva instances on top; seeded in this process."""

    tmp: Path
    redis: RedisServer
    store: SqlStore
    auth: AuthService
    db_url: str
    instances: dict[str, Instance] = field(default_factory=dict)
    nurses: list[StaffUser] = field(default_factory=list)
    # Each instance id keeps its port across restarts, so a proxy can list it in advance.
    ports: dict[str, int] = field(default_factory=dict)

    def urls(self, *ids: str) -> list[str]:
        return [self.instances[i].url for i in ids]

    def port_for(self, instance_id: str) -> int:
        return self.ports.setdefault(instance_id, free_port())

    def instance_named(self, instance_id: str) -> Instance:
        """The test's instance for an id the bus reports (a process life: `name@stamp`)."""
        return self.instances[instance_id.partition("@")[0]]

    async def host_of(self, call_id: str) -> Instance:
        """The instance whose media server hosts the call, as the cluster records it."""
        async with aioredis.from_url(self.redis.url, decode_responses=True) as redis:
            owner = await redis.get(f"hoiva:room:{call_id}")
        assert isinstance(owner, str), f"call {call_id} has no host"
        return self.instance_named(owner)

    async def add_instance(self, instance_id: str, **settings: str) -> Instance:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "HOIVA_BUS__HEARTBEAT_S": "0.5",
            "HOIVA_BUS__INSTANCE_TTL_S": "2.0",
            "HOIVA_BUS__DRAIN_TIMEOUT_S": "30",
            "HOIVA_CALLS__DROP_GRACE_S": "15",
            "HOIVA_CALLS__RING_TIMEOUT_S": "20",
            "HOIVA_LOG__LEVEL": "INFO",
        }
        env.update({f"HOIVA_{k.upper()}": v for k, v in settings.items()})
        port = self.port_for(instance_id)
        instance = Instance(
            instance_id=instance_id,
            port=port,
            args=[
                sys.executable, "-m", "hoiva.cli", "serve",
                "--port", str(port),
                "--redis-url", self.redis.url,
                "--instance-id", instance_id,
                "--database-url", self.db_url,
            ],
            env=env,
            log_path=self.tmp / f"{instance_id}.log",
        )  # fmt: skip
        self.instances[instance_id] = instance
        await instance.start()
        return instance

    async def add_client(self, first_name: str) -> tuple[Client, str]:
        """A client and a device token for its tablet (through the real pairing path)."""
        client = Client(
            id=str(uuid.uuid4()),
            first_name=first_name,
            last_name="Testinen",
            settings=ClientSettings(language=Language.EN, auto_answer=False),
        )
        await self.store.add_client(client)
        issued = await self.auth.issue_pairing_code(client.id, self.nurses[0].id)
        token = (await self.auth.redeem_pairing_code(issued.code)).token
        return client, token

    async def stop(self) -> None:
        for instance in self.instances.values():
            await instance.stop()
        await self.store.close()
        self.redis.stop()


@pytest.fixture(autouse=True)
def headless_media_on_loopback() -> None:
    """Our headless peers gather on 127.0.0.1 even after another suite restored aioice's own
    discovery (tests/media's fixture does, for the rest of the session)."""
    use_host_addresses(["127.0.0.1"])


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL for the session; each cluster gets its own database."""
    try:
        with throwaway_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


@contextlib.asynccontextmanager
async def postgres_cluster(tmp: Path, postgres: PostgresServer) -> AsyncIterator[Cluster]:
    """Redis and a fresh database on a real PostgreSQL, shared by the instances started."""
    redis = RedisServer(tmp / "redis")
    redis.start()
    db_url = postgres.create_database()
    engine = create_store_engine(db_url)
    await migrate(engine)
    store = SqlStore(engine)
    built = Cluster(
        tmp=tmp, redis=redis, store=store, auth=AuthService(store, SystemClock()), db_url=db_url
    )
    try:
        for username in ("nurse1", "nurse2"):
            user = StaffUser(
                id=str(uuid.uuid4()),
                username=username,
                display_name=username.title(),
                role=Role.NURSE,
                password_hash=hash_password(NURSE_PASSWORD),
            )
            await store.add_staff(user)
            built.nurses.append(user)
        yield built
    finally:
        try:
            await built.stop()
        finally:
            redis.stop()


@pytest.fixture
async def cluster(tmp_path: Path, postgres_server: PostgresServer) -> AsyncIterator[Cluster]:
    """Redis and a migrated PostgreSQL database shared by the instances a test starts, as
    compose.yaml deploys them."""
    async with postgres_cluster(tmp_path, postgres_server) as built:
        yield built


@pytest.fixture
async def proxy(cluster: Cluster, tmp_path: Path) -> AsyncIterator[NginxProxy]:
    """Debian's nginx on the shipped deploy/nginx/nginx.conf, in front of the cluster's
    instances "a" and "b" (their ports are fixed now; the test starts them), as
    compose.yaml deploys it. Stopped by its pid, whatever the test did."""
    nginx = NginxProxy(tmp_path / "nginx")
    try:
        nginx.start([cluster.port_for("a"), cluster.port_for("b")])
        yield nginx
    finally:
        nginx.stop()
