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

from signaling.bus import Body, BusListener, BusUnavailable, CallFlag, CallFlagName, Location
from signaling.bus_local import default_instance_id
from signaling.bus_redis_scripts import (
    CLAIM_ROOM,
    CONNECTION_DOWN,
    CONNECTION_UP,
    ENGAGE,
    REAP_FLAGS,
    REAP_LOCATIONS,
    RELEASE,
    RELEASE_ROOM,
    RENEW_ROOMS,
    SET_FLAG,
    with_helpers,
)

log = logging.getLogger(__name__)
T = TypeVar("T")
_INSTANCE_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_LOC_ENTRY = re.compile(r"([^:,]+):(\d+)")
_json = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(dict[str, Any])
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
        p = settings.prefix
        self._k_loc, self._k_seq, self._k_flags = f"{p}:loc", f"{p}:seq", f"{p}:flags"
        self._k_instances, self._k_draining = f"{p}:instances", f"{p}:draining"
        self._ch_events, self._ch_me = f"{p}:ev", self._inbox(instance_id)
        self._redis = aioredis.Redis.from_url(
            settings.url,
            socket_timeout=settings.timeout_s,
            socket_connect_timeout=settings.timeout_s,
            retry=Retry(NoBackoff(), 0),  # our own timeouts and the heartbeat do the retrying
            decode_responses=True,
        )
        self._scripts = {
            name: self._redis.register_script(with_helpers(source))
            for name, source in (
                ("up", CONNECTION_UP),
                ("down", CONNECTION_DOWN),
                ("reap_loc", REAP_LOCATIONS),
                ("flag", SET_FLAG),
                ("reap_flags", REAP_FLAGS),
                ("engage", ENGAGE),
                ("release", RELEASE),
                ("claim", CLAIM_ROOM),
                ("release_room", RELEASE_ROOM),
                ("renew", RENEW_ROOMS),
            )
        }
        self._listener: BusListener | None = None
        self._healthy = False
        self._closing = False
        self._draining = False
        # Mirrors of other instances' state, kept current by events, reloaded on resync.
        self._mirror: dict[str, dict[str, int]] = {}
        self._flags: dict[str, CallFlag] = {}
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
            await asyncio.wait_for(self._subscribed.wait(), self._settings.timeout_s * 4)
            # A previous life under the same id may have left sockets behind (kill -9).
            await self._call(self._leave, probe=True)
            await self._resync()
        except (TimeoutError, BusUnavailable):
            log.warning("Redis unreachable at start; instance %s runs degraded", self._id)
            self._needs_resync = True
        self._runner = asyncio.create_task(self._heartbeat_forever())

    async def close(self) -> None:
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
        await self._redis.aclose()

    async def _leave(self) -> None:
        now = str(time.time())
        await self._scripts["reap_loc"](
            keys=[self._k_loc, self._subjects_key(self._id)],
            args=[self._id, now, self._ch_events],
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._alive_key(self._id))
            pipe.srem(self._k_instances, self._id)
            pipe.srem(self._k_draining, self._id)
            await pipe.execute()

    # ---- Bus: presence registry ----------------------------------------------------------

    def remote_instances(self, subject_id: str) -> frozenset[str]:
        return frozenset(self._mirror.get(subject_id, ()))

    def remote_flag(self, client_id: str) -> CallFlag | None:
        return self._flags.get(client_id)

    def remote_subjects(self) -> Mapping[str, frozenset[str]]:
        return {s: frozenset(i) for s, i in self._mirror.items()}

    async def connection_up(self, subject_id: str, *, exclusive: bool) -> int:
        self._local[subject_id] = exclusive
        return int(
            await self._call(
                lambda: self._scripts["up"](
                    keys=[self._k_loc, self._subjects_key(self._id), self._k_seq],
                    args=[
                        subject_id,
                        self._id,
                        "1" if exclusive else "0",
                        time.time(),
                        self._ch_events,
                    ],
                )
            )
        )

    async def connection_down(self, subject_id: str) -> None:
        self._local.pop(subject_id, None)
        await self._call(
            lambda: self._scripts["down"](
                keys=[self._k_loc, self._subjects_key(self._id)],
                args=[subject_id, self._id, time.time(), self._ch_events],
            )
        )

    async def set_call_flag(self, client_id: str, flag: CallFlagName | None) -> None:
        if flag is None:
            self._local_flags.pop(client_id, None)
        else:
            self._local_flags[client_id] = flag
        await self._call(
            lambda: self._scripts["flag"](
                keys=[self._k_flags],
                args=[client_id, flag or "", self._id, time.time(), self._ch_events],
            )
        )

    # ---- Bus: routing --------------------------------------------------------------------

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        payload = _json.encode({"k": "dl", "s": subject_id, "m": text})
        await self._call(lambda: self._redis.publish(self._inbox(instance_id), payload))

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        payload = _json.encode({"k": "staff", "i": self._id, "r": sorted(roles), "m": text})
        await self._call(lambda: self._redis.publish(self._ch_events, payload))

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Body] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = _json.encode({"k": "rq", "id": request_id, "f": self._id, "o": op, "b": body})
        try:
            receivers = await self._call(
                lambda: self._redis.publish(self._inbox(instance_id), payload)
            )
            if not receivers:
                raise BusUnavailable(f"instance {instance_id} is not listening")
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise BusUnavailable(f"instance {instance_id} did not answer {op}") from None
        finally:
            self._pending.pop(request_id, None)

    # ---- Bus: calls and rooms ------------------------------------------------------------

    async def engage(self, subject_ids: Sequence[str], call_id: str) -> list[str]:
        taken = await self._call(
            lambda: self._scripts["engage"](
                keys=[self._engaged_key(s) for s in subject_ids],
                args=[call_id, self._call_key("")],
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
                keys=[self._engaged_key(s) for s in subject_ids], args=[call_id]
            )
        )

    async def engaged_call(self, subject_id: str) -> str | None:
        value = await self._call(lambda: self._redis.get(self._engaged_key(subject_id)))
        return cast(str | None, value)

    async def claim_room(self, room_id: str, *, replacing: str | None = None) -> bool:
        claimed = await self._call(
            lambda: self._scripts["claim"](
                keys=[
                    self._room_key(room_id),
                    self._calls_key(self._id),
                    self._calls_key(replacing or self._id),
                ],
                args=[self._id, self._ttl_ms, replacing or "", room_id],
            )
        )
        if claimed:
            self._rooms.add(room_id)
        return bool(claimed)

    async def room_owner(self, room_id: str) -> str | None:
        value = await self._call(lambda: self._redis.get(self._room_key(room_id)))
        return cast(str | None, value)

    async def release_room(self, room_id: str) -> None:
        self._rooms.discard(room_id)
        await self._call(
            lambda: self._scripts["release_room"](
                keys=[self._room_key(room_id), self._calls_key(self._id)],
                args=[self._id, room_id],
            )
        )

    async def save_call(self, call_id: str, snapshot: bytes) -> None:
        self._snapshots[call_id] = snapshot
        await self._call(
            lambda: self._redis.set(self._call_key(call_id), snapshot, ex=CALL_SNAPSHOT_TTL_S)
        )

    async def load_call(self, call_id: str) -> bytes | None:
        value = await self._call(lambda: self._redis.get(self._call_key(call_id)))
        return value.encode() if isinstance(value, str) else None

    async def forget_call(self, call_id: str) -> None:
        self._snapshots.pop(call_id, None)
        await self._call(lambda: self._redis.delete(self._call_key(call_id)))

    async def calls_of(self, instance_id: str) -> list[str]:
        members = await self._call(lambda: self._redis.smembers(self._calls_key(instance_id)))
        return sorted(cast(set[str], members))

    # ---- Bus: instances and resumption ---------------------------------------------------

    async def live_instances(self) -> list[str]:
        async def query() -> list[str]:
            members = sorted(cast(set[str], await self._redis.smembers(self._k_instances)))
            if not members:
                return []
            alive = await self._redis.mget([self._alive_key(m) for m in members])
            draining = await self._redis.smembers(self._k_draining)
            return [m for m, a in zip(members, alive, strict=True) if a and m not in draining]

        return await self._call(query)

    async def set_draining(self) -> None:
        self._draining = True
        await self._call(lambda: self._redis.sadd(self._k_draining, self._id))

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None:
        await self._call(
            lambda: self._redis.set(self._resume_key(token), subject_id, px=int(ttl_s * 1000))
        )

    async def take_resume(self, token: str) -> str | None:
        value = await self._call(lambda: self._redis.getdel(self._resume_key(token)))
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
        except (RedisError, OSError, TimeoutError) as exc:
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

    def _key(self, *parts: str) -> str:
        return ":".join((self._settings.prefix, *parts))

    def _inbox(self, instance_id: str) -> str:
        return self._key("i", instance_id)

    def _alive_key(self, instance_id: str) -> str:
        return self._key("alive", instance_id)

    def _subjects_key(self, instance_id: str) -> str:
        return self._key("subjects", instance_id)

    def _calls_key(self, instance_id: str) -> str:
        return self._key("calls", instance_id)

    def _engaged_key(self, subject_id: str) -> str:
        return self._key("engaged", subject_id)

    def _room_key(self, room_id: str) -> str:
        return self._key("room", room_id)

    def _call_key(self, call_id: str) -> str:
        return self._key("call", call_id)

    def _resume_key(self, token: str) -> str:
        return self._key("resume", token)

    def _apply_location(self, event: Location) -> None:
        if event.instance_id == self._id:
            return
        if event.up:
            if event.exclusive:
                self._mirror[event.subject_id] = {event.instance_id: event.seq}
            else:
                self._mirror.setdefault(event.subject_id, {})[event.instance_id] = event.seq
        else:
            instances = self._mirror.get(event.subject_id)
            if instances is not None:
                instances.pop(event.instance_id, None)
                if not instances:
                    del self._mirror[event.subject_id]

    def _apply_flag(self, event: CallFlag) -> None:
        current = self._flags.get(event.client_id)
        if event.instance_id == self._id:
            # This instance owns the client's call now; its own sets are the truth.
            self._flags.pop(event.client_id, None)
        elif event.flag is not None:
            self._flags[event.client_id] = event
        elif current is not None and current.instance_id == event.instance_id:
            del self._flags[event.client_id]

    # ---- the subscription: events, deliveries, requests and replies -----------------------

    async def _read_forever(self) -> None:
        """One subscriber connection for every channel, so events keep their publish order."""
        while not self._closing:
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(self._settings.timeout_s):
                    await pubsub.subscribe(self._ch_events, self._ch_me)
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
                location = Location(
                    subject_id=message["s"],
                    instance_id=message["i"],
                    up=bool(message["u"]),
                    exclusive=bool(message["x"]),
                    seq=int(message["q"]),
                    at=float(message["t"]),
                )
                if location.instance_id != self._id:
                    self._apply_location(location)
                    await listener.on_location(location)
            elif kind == "flag":
                flag = CallFlag(
                    client_id=message["c"],
                    flag=cast(CallFlagName, message["f"]) if message["f"] else None,
                    instance_id=message["i"],
                    at=float(message["t"]),
                )
                self._apply_flag(flag)
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
            await self._call(lambda: self._redis.publish(self._inbox(message["f"]), payload))

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
                await self._find_dead()
            except BusUnavailable:
                pass
            except Exception:
                log.exception("bus heartbeat failed")

    async def _beat(self) -> None:
        """Say this instance is alive and renew its rooms; also the probe that heals the bus."""

        async def beat() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._alive_key(self._id), "1", px=self._ttl_ms)
                pipe.sadd(self._k_instances, self._id)
                rooms = sorted(self._rooms)
                if rooms:
                    await self._scripts["renew"](
                        keys=[self._room_key(r) for r in rooms],
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
        async def query() -> list[str]:
            members = sorted(cast(set[str], await self._redis.smembers(self._k_instances)))
            others = [m for m in members if m != self._id]
            if not others:
                return []
            alive = await self._redis.mget([self._alive_key(m) for m in others])
            return [m for m, a in zip(others, alive, strict=True) if not a]

        for dead in await self._call(query):
            # One survivor reaps; the lock outlives a reaper that dies half way only briefly.
            if await self._call(self._reap_lock(dead)):
                self._spawn(self._reap(dead))

    def _reap_lock(self, dead: str) -> Callable[[], Awaitable[Any]]:
        return lambda: self._redis.set(self._key("reap", dead), self._id, nx=True, px=60_000)

    async def _reap(self, dead: str) -> None:
        log.warning("instance %s stopped beating; reaping its sockets and rooms", dead)
        now = time.time()
        try:
            await self._call(
                lambda: self._scripts["reap_loc"](
                    keys=[self._k_loc, self._subjects_key(dead)],
                    args=[dead, now, self._ch_events],
                )
            )
            # Our own mirror must not wait for the events to come round the subscription:
            # the takeover below asks who is still connected.
            for instances in self._mirror.values():
                instances.pop(dead, None)
            self._mirror = {s: i for s, i in self._mirror.items() if i}
            assert self._listener is not None
            await self._listener.on_instance_lost(dead)
            await self._call(
                lambda: self._scripts["reap_flags"](
                    keys=[self._k_flags], args=[dead, time.time(), self._ch_events]
                )
            )

            async def forget() -> None:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.srem(self._k_instances, dead)
                    pipe.srem(self._k_draining, dead)
                    pipe.delete(self._calls_key(dead))
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
                pipe.set(self._alive_key(self._id), "1", px=self._ttl_ms)
                pipe.sadd(self._k_instances, self._id)
                if self._draining:
                    pipe.sadd(self._k_draining, self._id)
                for subject in list(self._local):
                    # Never exclusive here: announcing again must not evict a newer socket
                    # that the same tablet opened elsewhere while Redis was away.
                    await self._scripts["up"](
                        keys=[self._k_loc, self._subjects_key(self._id), self._k_seq],
                        args=[subject, self._id, "0", now, self._ch_events],
                        client=pipe,
                    )
                for client, flag in list(self._local_flags.items()):
                    await self._scripts["flag"](
                        keys=[self._k_flags],
                        args=[client, flag, self._id, now, self._ch_events],
                        client=pipe,
                    )
                for call_id, snapshot in list(self._snapshots.items()):
                    pipe.set(self._call_key(call_id), snapshot, ex=CALL_SNAPSHOT_TTL_S)
                for subject, call_id in list(self._engaged.items()):
                    pipe.set(self._engaged_key(subject), call_id)
                rooms = sorted(self._rooms)
                for room in rooms:
                    await self._scripts["claim"](
                        keys=[
                            self._room_key(room),
                            self._calls_key(self._id),
                            self._calls_key(self._id),
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
        assert self._listener is not None
        if lost:
            self._rooms.difference_update(lost)
            await self._listener.on_rooms_lost(set(lost))
        await self._listener.on_resynced(changed)

    async def _reload_mirrors(self) -> set[str]:
        locations = cast(dict[str, str], await self._redis.hgetall(self._k_loc))
        flags = cast(dict[str, str], await self._redis.hgetall(self._k_flags))
        mirror: dict[str, dict[str, int]] = {}
        for subject, value in locations.items():
            instances = {i: int(q) for i, q in _LOC_ENTRY.findall(value) if i != self._id}
            if instances:
                mirror[subject] = instances
        remote_flags: dict[str, CallFlag] = {}
        for client, value in flags.items():
            flag, _, rest = value.partition("|")
            owner, _, at = rest.partition("|")
            if owner != self._id and flag in ("ringing", "in_call"):
                remote_flags[client] = CallFlag(client, cast(CallFlagName, flag), owner, float(at))
        changed = {
            s
            for s in mirror.keys() | self._mirror.keys()
            if set(mirror.get(s, ())) != set(self._mirror.get(s, ()))
        }
        changed |= {
            c
            for c in remote_flags.keys() | self._flags.keys()
            if getattr(remote_flags.get(c), "flag", None)
            != getattr(self._flags.get(c), "flag", None)
        }
        self._mirror, self._flags = mirror, remote_flags
        return changed
