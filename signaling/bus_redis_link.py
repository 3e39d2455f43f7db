"""The Redis bus's link to Redis: one connection pool, every call under a timeout, health.

`RedisLinked` is the LocalBus every part of the Redis bus builds on (ownership and liveness
in bus_redis_ownership.py, resume tokens in bus_redis_resume.py, messaging and the presence
registry in bus_redis.py): it holds the connection, the key names and scripts, this life's
id, and the state the parts share. While Redis is unreachable the bus reports itself
unhealthy and its calls raise BusUnavailable at once; only the heartbeat's probe waits.

Each process life has its own instance id, the configured name plus its start stamp
(`a@lq2x8k1c`): heartbeats, room ownership and reap locks name the life, so an instance
restarted under the same name never renews, hides or blocks its previous life's calls.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from signaling.bus import BusListener, BusUnavailable
from signaling.bus_local import LocalBus, default_instance_id
from signaling.bus_mirror import ClusterMirror
from signaling.bus_redis_scripts import SCRIPTS, RedisKeys

log = logging.getLogger(__name__)
T = TypeVar("T")
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
MAX_REDIS_CONNECTIONS = 64
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def life_id(name: str) -> str:
    """This process life's instance id: the configured name and a start stamp."""
    stamp, ms = "", time.time_ns() // 1_000_000
    while ms:
        ms, digit = divmod(ms, 36)
        stamp = _BASE36[digit] + stamp
    # Two lives of one name never start in the same millisecond, but the bits are cheap.
    return f"{name}@{stamp}{secrets.token_hex(2)}"


def life_name(instance_id: str) -> str:
    """The configured instance name of a life id."""
    return instance_id.rsplit("@", 1)[0]


@dataclass(frozen=True)
class RedisBusSettings:
    url: str
    instance_id: str = ""
    heartbeat_s: float = 1.0
    # An instance whose heartbeat key is this old is dead: its sockets and rooms are reaped.
    instance_ttl_s: float = 4.0
    timeout_s: float = 0.5
    prefix: str = "hoiva"


class RedisLinked(LocalBus):
    """A LocalBus linked to Redis: what every cross-instance part of the Redis bus shares."""

    def __init__(self, settings: RedisBusSettings) -> None:
        name = settings.instance_id or default_instance_id()
        if not _INSTANCE_ID.match(name):
            raise ValueError(f"instance id {name!r}: use 1-64 of A-Z a-z 0-9 _ . -")
        super().__init__(life_id(name))
        self._settings = settings
        self._name = name
        self._keys = RedisKeys(settings.prefix)
        # A bounded pool that makes callers queue: a burst of hellos must wait for a
        # connection (under the bus timeout), not fail for want of one.
        self._pool = aioredis.BlockingConnectionPool.from_url(
            settings.url,
            max_connections=MAX_REDIS_CONNECTIONS,
            timeout=None,
            socket_timeout=settings.timeout_s,
            socket_connect_timeout=settings.timeout_s,
            retry=Retry(NoBackoff(), 0),  # our own timeouts and the heartbeat do the retrying
            decode_responses=True,
        )
        self._redis = aioredis.Redis(connection_pool=self._pool)
        self._scripts = {name: self._redis.register_script(src) for name, src in SCRIPTS.items()}
        self._listener: BusListener | None = None
        self._healthy = False
        self._closing = False
        self._needs_resync = False
        # Other instances' state, kept current by events, reloaded on resync.
        self._mirror = ClusterMirror(self._instance_id)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def instance_name(self) -> str:
        """The configured instance id, the same in every life."""
        return self._name

    @property
    def healthy(self) -> bool:
        return self._healthy

    @property
    def _ttl_ms(self) -> int:
        return int(self._settings.instance_ttl_s * 1000)

    def _heard(self) -> BusListener:
        """The listener, which start() set before anything can arrive."""
        assert self._listener is not None
        return self._listener

    async def _call(
        self,
        operation: Callable[[], Awaitable[T]],
        *,
        probe: bool = False,
        timeout: float | None = None,
    ) -> T:
        """One Redis round trip under the bus timeout; failures become BusUnavailable.

        While unhealthy only probes (the heartbeat) reach Redis: everything else fails at once
        instead of waiting out a timeout per message.
        """
        if not self._healthy and not probe:
            raise BusUnavailable("the cluster's coordination service (Redis) is unreachable")
        try:
            async with asyncio.timeout(timeout or self._settings.timeout_s):
                result = await operation()
        except (TimeoutError, RedisTimeoutError) as exc:
            # A slow answer under load is not an outage: only the heartbeat's probe decides
            # that, so one busy moment does not put the whole instance in degraded mode.
            if probe:
                self._mark_unhealthy(exc)
            raise BusUnavailable("the cluster's coordination service (Redis) is too slow") from exc
        except (RedisError, OSError) as exc:
            self._mark_unhealthy(exc)
            raise BusUnavailable(
                "the cluster's coordination service (Redis) is unreachable"
            ) from exc
        if not self._healthy:
            log.info("Redis reachable again from instance %s", self._instance_id)
            self._healthy = True
        return result

    def _mark_unhealthy(self, exc: BaseException) -> None:
        if self._healthy:
            log.warning("Redis unreachable (%s); instance %s runs degraded", exc, self._instance_id)
        self._healthy = False
        self._needs_resync = True

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
