"""The Redis bus: presence, routing and room ownership shared by many Hoiva instances.

Every Redis call runs under a timeout. While Redis is unreachable the bus reports itself
unhealthy and cross-instance actions raise BusUnavailable at once (calls whose media and
sockets are on this instance go on); the heartbeat keeps probing, and when Redis answers
again the bus announces everything this instance holds and reloads its mirrors, so the
cluster heals without anyone restarting anything (docs/scaleout.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from signaling.bus import Body, BusListener, BusUnavailable, CallFlag, CallFlagName
from signaling.bus_local import default_instance_id
from signaling.bus_mirror import ClusterMirror, flag_from_event, location_from_event
from signaling.bus_redis_scripts import SCRIPTS, RedisKeys

log = logging.getLogger(__name__)
T = TypeVar("T")
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_json = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(dict[str, Any])
MAX_REDIS_CONNECTIONS = 64
CALL_SNAPSHOT_TTL_S = 24 * 3600  # a call never lasts a day; a stale snapshot then frees people


@dataclass(frozen=True)
class RedisBusSettings:
    url: str
    instance_id: str = ""
    heartbeat_s: float = 1.0
    # An instance whose heartbeat key is this old is dead: its sockets and rooms are reaped.
    instance_ttl_s: float = 4.0
    timeout_s: float = 0.5
    prefix: str = "hoiva"


class RedisBus:
    """The Redis implementation of signaling.bus.Bus (redis.asyncio)."""

    def __init__(self, settings: RedisBusSettings) -> None:
        instance_id = settings.instance_id or default_instance_id()
        if not _INSTANCE_ID.match(instance_id):
            raise ValueError(f"instance id {instance_id!r}: use 1-64 of A-Z a-z 0-9 _ . -")
        self._settings = settings
        self._id = instance_id
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
        self._draining = False
        # Other instances' state, kept current by events, reloaded on resync.
        self._mirror = ClusterMirror(instance_id)
        # What this instance holds, so that it can announce it all again after an outage.
        self._local: dict[str, bool] = {}
        self._local_flags: dict[str, CallFlagName] = {}
        self._engaged: dict[str, str] = {}
        self._rooms: set[str] = set()
        self._snapshots: dict[str, bytes] = {}
        self._pending: dict[str, asyncio.Future[Body]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._subscribed = asyncio.Event()
        self._needs_resync = False
        # Reloads of the mirrors still to do after a resync (see _resync).
        self._settle_reloads = 0
        self._runner: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    # ---- Bus: identity and lifecycle -----------------------------------------------------

    @property
    def instance_id(self) -> str:
        return self._id

    @property
    def clustered(self) -> bool:
        return True

    @property
    def healthy(self) -> bool:
        return self._healthy

    async def start(self, listener: BusListener) -> None:
        """Join the cluster; if Redis is down, start degraded and join when it answers."""
        self._listener = listener
        self._reader = asyncio.create_task(self._read_forever())
        try:
            async with asyncio.timeout(self._settings.timeout_s * 4):
                await self._subscribed.wait()
            # A previous life under the same id may have left sockets behind (kill -9).
            await self._call(self._leave, probe=True)
            await self._resync()
        except (TimeoutError, BusUnavailable):
            log.warning("Redis unreachable at start; instance %s runs degraded", self._id)
            self._needs_resync = True
        self._runner = asyncio.create_task(self._heartbeat_forever())

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for task in (self._runner, self._reader, *self._tasks):
            if task is not None:
                task.cancel()
        for task in (self._runner, self._reader, *self._tasks):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._healthy:
            # A clean exit: the others need not wait for this instance's heartbeat to expire.
            with contextlib.suppress(BusUnavailable):
                await self._call(self._leave)
        # Whatever still asks (sockets closing after us) gets BusUnavailable at once.
        self._healthy = False
        await self._redis.aclose()
        await self._pool.disconnect()

    async def _leave(self) -> None:
        now = str(time.time())
        await self._scripts["reap_loc"](
            keys=[self._keys.loc, self._keys.subjects(self._id)],
            args=[self._id, now, self._keys.events],
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.alive(self._id))
            pipe.srem(self._keys.instances, self._id)
            pipe.srem(self._keys.draining, self._id)
            await pipe.execute()

    # ---- Bus: presence registry ----------------------------------------------------------

    def remote_instances(self, subject_id: str) -> frozenset[str]:
        return self._mirror.instances_of(subject_id)

    def remote_flag(self, client_id: str) -> CallFlag | None:
        return self._mirror.flag(client_id)

    def remote_subjects(self) -> Mapping[str, frozenset[str]]:
        return self._mirror.subjects()

    async def connection_up(self, subject_id: str, *, exclusive: bool) -> int:
        self._local[subject_id] = exclusive
        return int(
            await self._call(
                lambda: self._scripts["up"](
                    keys=[self._keys.loc, self._keys.subjects(self._id), self._keys.seq],
                    args=[
                        subject_id,
                        self._id,
                        "1" if exclusive else "0",
                        time.time(),
                        self._keys.events,
                    ],
                )
            )
        )

    async def connection_down(self, subject_id: str) -> None:
        self._local.pop(subject_id, None)
        await self._call(
            lambda: self._scripts["down"](
                keys=[self._keys.loc, self._keys.subjects(self._id)],
                args=[subject_id, self._id, time.time(), self._keys.events],
            )
        )

    async def set_call_flag(self, client_id: str, flag: CallFlagName | None) -> None:
        if flag is None:
            self._local_flags.pop(client_id, None)
        else:
            self._local_flags[client_id] = flag
        await self._call(
            lambda: self._scripts["flag"](
                keys=[self._keys.flags],
                args=[client_id, flag or "", self._id, time.time(), self._keys.events],
            )
        )

    # ---- Bus: routing --------------------------------------------------------------------

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        payload = _json.encode({"k": "dl", "s": subject_id, "m": text})
        await self._call(lambda: self._redis.publish(self._keys.inbox(instance_id), payload))

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        payload = _json.encode({"k": "staff", "i": self._id, "r": sorted(roles), "m": text})
        await self._call(lambda: self._redis.publish(self._keys.events, payload))

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Body] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = _json.encode({"k": "rq", "id": request_id, "f": self._id, "o": op, "b": body})
        try:
            receivers = await self._call(
                lambda: self._redis.publish(self._keys.inbox(instance_id), payload)
            )
            if not receivers:
                raise BusUnavailable(f"instance {instance_id} is not listening")
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise BusUnavailable(f"instance {instance_id} did not answer {op}") from None
        finally:
            self._pending.pop(request_id, None)

    # ---- Bus: calls and rooms ------------------------------------------------------------

    async def engage(self, subject_ids: Sequence[str], call_id: str) -> list[str]:
        taken = await self._call(
            lambda: self._scripts["engage"](
                keys=[self._keys.engaged(s) for s in subject_ids],
                args=[call_id, self._keys.call("")],
            )
        )
        busy = [subject_ids[int(i) - 1] for i in cast(list[Any], taken)]
        if not busy:
            self._engaged.update(dict.fromkeys(subject_ids, call_id))
        return busy

    async def release(self, subject_ids: Sequence[str], call_id: str) -> None:
        for subject in subject_ids:
            if self._engaged.get(subject) == call_id:
                del self._engaged[subject]
        await self._call(
            lambda: self._scripts["release"](
                keys=[self._keys.engaged(s) for s in subject_ids], args=[call_id]
            )
        )

    async def engaged_call(self, subject_id: str) -> str | None:
        value = await self._call(lambda: self._redis.get(self._keys.engaged(subject_id)))
        return cast(str | None, value)

    async def claim_room(self, room_id: str, *, replacing: str | None = None) -> bool:
        claimed = await self._call(
            lambda: self._scripts["claim"](
                keys=[
                    self._keys.room(room_id),
                    self._keys.calls(self._id),
                    self._keys.calls(replacing or self._id),
                ],
                args=[self._id, self._ttl_ms, replacing or "", room_id],
            )
        )
        if claimed:
            self._rooms.add(room_id)
        return bool(claimed)

    async def room_owner(self, room_id: str) -> str | None:
        value = await self._call(lambda: self._redis.get(self._keys.room(room_id)))
        return cast(str | None, value)

    async def release_room(self, room_id: str) -> None:
        self._rooms.discard(room_id)
        await self._call(
            lambda: self._scripts["release_room"](
                keys=[self._keys.room(room_id), self._keys.calls(self._id)],
                args=[self._id, room_id],
            )
        )

    async def save_call(self, call_id: str, snapshot: bytes) -> None:
        self._snapshots[call_id] = snapshot
        await self._call(
            lambda: self._redis.set(self._keys.call(call_id), snapshot, ex=CALL_SNAPSHOT_TTL_S)
        )

    async def load_call(self, call_id: str) -> bytes | None:
        value = await self._call(lambda: self._redis.get(self._keys.call(call_id)))
        return value.encode() if isinstance(value, str) else None

    async def forget_call(self, call_id: str) -> None:
        self._snapshots.pop(call_id, None)
        await self._call(lambda: self._redis.delete(self._keys.call(call_id)))

    async def calls_of(self, instance_id: str) -> list[str]:
        members = await self._call(lambda: self._redis.smembers(self._keys.calls(instance_id)))
        return sorted(cast(set[str], members))

    # ---- Bus: instances and resumption ---------------------------------------------------

    async def live_instances(self) -> list[str]:
        alive = await self._call(self._instances_alive)
        draining = await self._call(lambda: self._redis.smembers(self._keys.draining))
        return [m for m, up in alive if up and m not in draining]

    async def _instances_alive(self) -> list[tuple[str, bool]]:
        members = sorted(cast(set[str], await self._redis.smembers(self._keys.instances)))
        if not members:
            return []
        alive = await self._redis.mget([self._keys.alive(m) for m in members])
        return [(m, bool(a)) for m, a in zip(members, alive, strict=True)]

    async def set_draining(self) -> None:
        self._draining = True
        await self._call(lambda: self._redis.sadd(self._keys.draining, self._id))

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None:
        await self._call(
            lambda: self._redis.set(self._keys.resume(token), subject_id, px=int(ttl_s * 1000))
        )

    async def take_resume(self, token: str) -> str | None:
        value = await self._call(lambda: self._redis.getdel(self._keys.resume(token)))
        return cast(str | None, value)

    # ---- Redis calls ---------------------------------------------------------------------

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
            log.info("Redis reachable again from instance %s", self._id)
            self._healthy = True
        return result

    def _mark_unhealthy(self, exc: BaseException) -> None:
        if self._healthy:
            log.warning("Redis unreachable (%s); instance %s runs degraded", exc, self._id)
        self._healthy = False
        self._needs_resync = True

    @property
    def _ttl_ms(self) -> int:
        return int(self._settings.instance_ttl_s * 1000)

    # ---- the subscription: events, deliveries, requests and replies -----------------------

    async def _read_forever(self) -> None:
        """One subscriber connection for every channel, so events keep their publish order."""
        while not self._closing:
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(self._settings.timeout_s):
                    await pubsub.subscribe(self._keys.events, self._keys.inbox(self._id))
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        await self._dispatch(message["data"])
            except (RedisError, OSError, TimeoutError) as exc:
                self._subscribed.clear()
                self._mark_unhealthy(exc)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(self._settings.heartbeat_s / 2)

    async def _dispatch(self, raw: str) -> None:
        listener = self._listener
        assert listener is not None
        try:
            message = _decode.decode(raw)
            kind = message.get("k")
            if kind == "dl":
                await listener.on_deliver(message["s"], message["m"])
            elif kind == "loc":
                location = location_from_event(message)
                if location.instance_id != self._id:
                    self._mirror.apply_location(location)
                    await listener.on_location(location)
            elif kind == "flag":
                flag = flag_from_event(message)
                self._mirror.apply_flag(flag)
                if flag.instance_id != self._id:
                    await listener.on_call_flag(flag)
            elif kind == "staff":
                if message["i"] != self._id:
                    await listener.on_staff(message["m"], frozenset(message["r"]))
            elif kind == "rq":
                self._spawn(self._serve(message))
            elif kind == "rp":
                future = self._pending.get(message["id"])
                if future is not None and not future.done():
                    future.set_result(message["b"])
        except Exception:
            # One bad or unlucky message must not stop this instance hearing the cluster.
            log.exception("failed to handle a bus message")

    async def _serve(self, message: dict[str, Any]) -> None:
        assert self._listener is not None
        try:
            reply = await self._listener.on_request(message["o"], message["b"])
        except Exception:
            log.exception("failed to serve %s for %s", message.get("o"), message.get("f"))
            reply = {"ok": False, "code": "internal", "message": "internal error"}
        payload = _json.encode({"k": "rp", "id": message["id"], "b": reply})
        with contextlib.suppress(BusUnavailable):
            await self._call(lambda: self._redis.publish(self._keys.inbox(message["f"]), payload))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ---- heartbeat, reaper, resynchronisation ---------------------------------------------

    async def _heartbeat_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.heartbeat_s)
            try:
                await self._beat()
                if self._needs_resync and self._subscribed.is_set():
                    await self._resync()
                elif self._settle_reloads:
                    await self._settle()
                await self._find_dead()
            except BusUnavailable:
                pass
            except Exception:
                log.exception("bus heartbeat failed")

    async def _beat(self) -> None:
        """Say this instance is alive and renew its rooms; also the probe that heals the bus."""

        async def beat() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._keys.alive(self._id), "1", px=self._ttl_ms)
                pipe.sadd(self._keys.instances, self._id)
                rooms = sorted(self._rooms)
                if rooms:
                    await self._scripts["renew"](
                        keys=[self._keys.room(r) for r in rooms],
                        args=[self._id, self._ttl_ms],
                        client=pipe,
                    )
                results = await pipe.execute()
            lost = [rooms[int(i) - 1] for i in results[2]] if rooms else []
            return lost

        lost = await self._call(beat, probe=True)
        if lost and self._listener is not None:
            self._rooms.difference_update(lost)
            await self._listener.on_rooms_lost(set(lost))

    async def _find_dead(self) -> None:
        alive = await self._call(self._instances_alive)
        for dead in [m for m, up in alive if not up and m != self._id]:
            # One survivor reaps; the lock outlives a reaper that dies half way only briefly.
            if await self._call(self._reap_lock(dead)):
                self._spawn(self._reap(dead))

    def _reap_lock(self, dead: str) -> Callable[[], Awaitable[Any]]:
        return lambda: self._redis.set(self._keys.reap(dead), self._id, nx=True, px=60_000)

    async def _reap(self, dead: str) -> None:
        log.warning("instance %s stopped beating; reaping its sockets and rooms", dead)
        now = time.time()
        try:
            await self._call(
                lambda: self._scripts["reap_loc"](
                    keys=[self._keys.loc, self._keys.subjects(dead)],
                    args=[dead, now, self._keys.events],
                )
            )
            # Our own mirror must not wait for the events to come round the subscription:
            # the takeover below asks who is still connected.
            self._mirror.forget_instance(dead)
            assert self._listener is not None
            await self._listener.on_instance_lost(dead)
            await self._call(
                lambda: self._scripts["reap_flags"](
                    keys=[self._keys.flags], args=[dead, time.time(), self._keys.events]
                )
            )

            async def forget() -> None:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.srem(self._keys.instances, dead)
                    pipe.srem(self._keys.draining, dead)
                    pipe.delete(self._keys.calls(dead))
                    await pipe.execute()

            await self._call(forget)
        except BusUnavailable:
            log.warning("lost Redis while reaping %s; another survivor will retry", dead)

    async def _resync(self) -> None:
        """After an outage (or at start): announce all we hold, then reload the mirrors."""
        self._needs_resync = False
        slow = self._settings.timeout_s * 20

        async def announce() -> list[str]:
            now = time.time()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._keys.alive(self._id), "1", px=self._ttl_ms)
                pipe.sadd(self._keys.instances, self._id)
                if self._draining:
                    pipe.sadd(self._keys.draining, self._id)
                for subject in list(self._local):
                    # Never exclusive here: announcing again must not evict a newer socket
                    # that the same tablet opened elsewhere while Redis was away.
                    await self._scripts["up"](
                        keys=[self._keys.loc, self._keys.subjects(self._id), self._keys.seq],
                        args=[subject, self._id, "0", now, self._keys.events],
                        client=pipe,
                    )
                for client, flag in list(self._local_flags.items()):
                    await self._scripts["flag"](
                        keys=[self._keys.flags],
                        args=[client, flag, self._id, now, self._keys.events],
                        client=pipe,
                    )
                for call_id, snapshot in list(self._snapshots.items()):
                    pipe.set(self._keys.call(call_id), snapshot, ex=CALL_SNAPSHOT_TTL_S)
                for subject, call_id in list(self._engaged.items()):
                    pipe.set(self._keys.engaged(subject), call_id)
                rooms = sorted(self._rooms)
                for room in rooms:
                    await self._scripts["claim"](
                        keys=[
                            self._keys.room(room),
                            self._keys.calls(self._id),
                            self._keys.calls(self._id),
                        ],
                        args=[self._id, self._ttl_ms, "", room],
                        client=pipe,
                    )
                results = await pipe.execute()
            claims = results[len(results) - len(rooms) :] if rooms else []
            return [room for room, ok in zip(rooms, claims, strict=True) if not ok]

        try:
            lost = await self._call(announce, probe=True, timeout=slow)
            changed = await self._call(self._reload_mirrors, timeout=slow)
        except BusUnavailable:
            self._needs_resync = True
            raise
        log.info("instance %s (re)joined the cluster", self._id)
        # The snapshot read above and the events of instances announcing themselves at the
        # same moment travel on different connections: an event applied to the mirror may be
        # overwritten by an older snapshot that arrived after it. Everyone's announcements
        # are in Redis within a beat or two, so reading the snapshot again then converges.
        self._settle_reloads = 2
        assert self._listener is not None
        if lost:
            self._rooms.difference_update(lost)
            await self._listener.on_rooms_lost(set(lost))
        await self._listener.on_resynced(changed)

    async def _settle(self) -> None:
        self._settle_reloads -= 1
        changed = await self._call(self._reload_mirrors, timeout=self._settings.timeout_s * 20)
        if changed:
            assert self._listener is not None
            await self._listener.on_resynced(changed)

    async def _reload_mirrors(self) -> set[str]:
        locations = cast(dict[str, str], await self._redis.hgetall(self._keys.loc))
        flags = cast(dict[str, str], await self._redis.hgetall(self._keys.flags))
        return self._mirror.replace(locations, flags)
