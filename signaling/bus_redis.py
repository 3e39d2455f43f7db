"""The Redis bus: a LocalBus that also reaches the other Hoiva instances of one deployment.

Built the way LiveKit's RedisRouter wraps its LocalRouter: each part adds only the
cross-instance side of one concern to the single-process behaviour it inherits.

- bus_redis_link.py: the connection, every call under `timeout_s`, health, life ids;
- bus_redis_ownership.py: calls, rooms, engaged people, snapshots; heartbeats, the dead and
  their takeover;
- bus_redis_resume.py: resume tokens, kept across a Redis restart;
- here: joining and leaving, messaging, the presence registry, the subscription, the
  heartbeat loop, and the resynchronisation after an outage.

While Redis is unreachable the bus reports itself unhealthy and cross-instance actions raise
BusUnavailable at once (calls whose media and sockets are on this instance go on); the
heartbeat keeps probing, and when Redis answers again the bus announces everything this
instance holds and reloads its mirrors, so the cluster heals without anyone restarting
anything (docs/scaleout.md). A starting life retires its earlier lives at once, and they are
reaped like any dead instance.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import uuid
from collections.abc import Mapping
from typing import Any, cast

import msgspec
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from signaling.bus import Body, BusListener, BusUnavailable, CallFlag, CallFlagName
from signaling.bus_mirror import flag_from_event, location_from_event
from signaling.bus_redis_link import RedisBusSettings as RedisBusSettings
from signaling.bus_redis_link import life_id as life_id
from signaling.bus_redis_link import life_name as life_name
from signaling.bus_redis_ownership import RedisOwnership
from signaling.bus_redis_resume import RedisResumeTokens

log = logging.getLogger(__name__)
_json = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(dict[str, Any])
DEATH_WATCHES_PER_BEAT = 4


class RedisBus(RedisResumeTokens, RedisOwnership):
    """signaling.bus.Bus over Redis (redis.asyncio): a LocalBus with the other instances."""

    def __init__(self, settings: RedisBusSettings) -> None:
        super().__init__(settings)
        # What this instance holds, so that it can announce it all again after an outage.
        self._local: dict[str, bool] = {}
        self._local_flags: dict[str, CallFlagName] = {}
        self._pending: dict[str, asyncio.Future[Body]] = {}
        self._subscribed = asyncio.Event()
        # Reloads of the mirrors still to do after a resync (see _resync).
        self._settle_reloads = 0
        self._runner: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None

    # ---- joining and leaving -------------------------------------------------------------

    async def start(self, listener: BusListener) -> None:
        """Join the cluster; if Redis is down, start degraded and join when it answers."""
        self._listener = listener
        self._reader = asyncio.create_task(self._read_forever())
        try:
            async with asyncio.timeout(self._settings.timeout_s * 4):
                await self._subscribed.wait()
            # Earlier lives under this name died (kill -9, a restart policy): hand their
            # sockets and calls to the reapers now, not when their heartbeat would lapse.
            earlier = await self._call(self._retire_earlier_lives, probe=True)
            if earlier:
                log.warning("instance %s: earlier lives %s retired", self._instance_id, earlier)
            await self._resync()
            await self._find_dead()
        except (TimeoutError, BusUnavailable):
            log.warning("Redis unreachable at start; instance %s runs degraded", self._instance_id)
            self._needs_resync = True
        self._runner = asyncio.create_task(self._heartbeat_forever())

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        for task in (self._runner, self._reader, *self._tasks):
            if task is not None:
                task.cancel()
        tasks = [t for t in (self._runner, self._reader, *self._tasks) if t is not None]
        if tasks:
            # Bounded: a task whose cancellation redis-py swallowed ends at its next loop.
            await asyncio.wait(tasks, timeout=self._settings.timeout_s * 4)
        if self._healthy:
            # A clean exit: the others need not wait for this instance's heartbeat to expire.
            with contextlib.suppress(BusUnavailable):
                await self._call(self._leave)
        # Whatever still asks (sockets closing after us) gets BusUnavailable at once.
        self._healthy = False
        await self._redis.aclose()
        await self._pool.disconnect()
        await super().close()

    async def _leave(self) -> None:
        me, now = self._instance_id, str(time.time())
        await self._scripts["reap_loc"](
            keys=[self._keys.loc, self._keys.subjects(me)], args=[me, now, self._keys.events]
        )
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.delete(self._keys.alive(me))
            pipe.srem(self._keys.instances, me)
            pipe.srem(self._keys.draining, me)
            pipe.srem(self._keys.lives(self._name), me)
            await pipe.execute()

    # ---- presence registry ---------------------------------------------------------------

    def remote_instances(self, subject_id: str) -> frozenset[str]:
        return self._mirror.instances_of(subject_id)

    def remote_flag(self, client_id: str) -> CallFlag | None:
        return self._mirror.flag(client_id)

    def remote_subjects(self) -> Mapping[str, frozenset[str]]:
        return self._mirror.subjects()

    async def connection_up(self, subject_id: str, *, exclusive: bool) -> int:
        self._local[subject_id] = exclusive
        me = self._instance_id
        return int(
            await self._call(
                lambda: self._scripts["up"](
                    keys=[self._keys.loc, self._keys.subjects(me), self._keys.seq],
                    args=[
                        subject_id,
                        me,
                        "1" if exclusive else "0",
                        time.time(),
                        self._keys.events,
                    ],
                )
            )
        )

    async def connection_down(self, subject_id: str) -> None:
        self._local.pop(subject_id, None)
        me = self._instance_id
        await self._call(
            lambda: self._scripts["down"](
                keys=[self._keys.loc, self._keys.subjects(me)],
                args=[subject_id, me, time.time(), self._keys.events],
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
                args=[client_id, flag or "", self._instance_id, time.time(), self._keys.events],
            )
        )

    async def _queue_sockets(self, pipe: Pipeline, now: float) -> None:
        """Queue the announcement of this instance's sockets and call flags."""
        me = self._instance_id
        for subject in list(self._local):
            # Never exclusive here: announcing again must not evict a newer socket that the
            # same tablet opened elsewhere while Redis was away.
            await self._scripts["up"](
                keys=[self._keys.loc, self._keys.subjects(me), self._keys.seq],
                args=[subject, me, "0", now, self._keys.events],
                client=pipe,
            )
        for client, flag in list(self._local_flags.items()):
            await self._scripts["flag"](
                keys=[self._keys.flags],
                args=[client, flag, me, now, self._keys.events],
                client=pipe,
            )

    # ---- messaging -----------------------------------------------------------------------

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        payload = _json.encode({"k": "dl", "s": subject_id, "m": text})
        await self._call(lambda: self._redis.publish(self._keys.inbox(instance_id), payload))

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        payload = _json.encode(
            {"k": "staff", "i": self._instance_id, "r": sorted(roles), "m": text}
        )
        await self._call(lambda: self._redis.publish(self._keys.events, payload))

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        request_id = uuid.uuid4().hex
        future: asyncio.Future[Body] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = _json.encode(
            {"k": "rq", "id": request_id, "f": self._instance_id, "o": op, "b": body}
        )
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

    # ---- the subscription: events, deliveries, requests and replies -----------------------

    async def _read_forever(self) -> None:
        """One subscriber connection for every channel, so events keep their publish order."""
        while not self._closing:
            pubsub = self._redis.pubsub()
            try:
                async with asyncio.timeout(self._settings.timeout_s):
                    await pubsub.subscribe(self._keys.events, self._keys.inbox(self._instance_id))
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
                    await pubsub.aclose()
            await asyncio.sleep(self._settings.heartbeat_s / 2)

    async def _dispatch(self, raw: str) -> None:
        listener = self._heard()
        try:
            message = _decode.decode(raw)
            kind = message.get("k")
            if kind == "dl":
                await listener.on_deliver(message["s"], message["m"])
            elif kind == "loc":
                location = location_from_event(message)
                if location.instance_id != self._instance_id:
                    self._mirror.apply_location(location)
                    await listener.on_location(location)
            elif kind == "flag":
                flag = flag_from_event(message)
                self._mirror.apply_flag(flag)
                if flag.instance_id != self._instance_id:
                    await listener.on_call_flag(flag)
            elif kind == "staff":
                if message["i"] != self._instance_id:
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
        try:
            reply = await self._heard().on_request(message["o"], message["b"])
        except Exception:
            log.exception("failed to serve %s for %s", message.get("o"), message.get("f"))
            reply = {"ok": False, "code": "internal", "message": "internal error"}
        payload = _json.encode({"k": "rp", "id": message["id"], "b": reply})
        with contextlib.suppress(BusUnavailable):
            await self._call(lambda: self._redis.publish(self._keys.inbox(message["f"]), payload))

    # ---- the heartbeat loop and resynchronisation -----------------------------------------

    async def _heartbeat_forever(self) -> None:
        # The dead are looked for several times a beat: a crash is adopted sooner.
        looks = DEATH_WATCHES_PER_BEAT
        for tick in itertools.count(1):
            if self._closing:
                # redis-py may swallow a cancellation that lands inside a command.
                return
            await asyncio.sleep(self._settings.heartbeat_s / looks)
            try:
                if tick % looks == 0:
                    await self._beat()
                    if self._needs_resync and self._subscribed.is_set():
                        await self._resync()
                    elif self._settle_reloads:
                        await self._settle()
                if self._healthy:
                    await self._find_dead()
            except BusUnavailable:
                pass
            except Exception:
                log.exception("bus heartbeat failed")

    async def _resync(self) -> None:
        """After an outage (or at start): announce all we hold, then reload the mirrors."""
        self._needs_resync = False
        slow = self._settings.timeout_s * 20

        async def announce() -> list[str]:
            async with self._redis.pipeline(transaction=False) as pipe:
                self._queue_alive(pipe)
                await self._queue_sockets(pipe, time.time())
                rooms = await self._queue_holdings(pipe)
                results = await pipe.execute()
            claims = results[len(results) - len(rooms) :] if rooms else []
            return [room for room, ok in zip(rooms, claims, strict=True) if not ok]

        try:
            lost = await self._call(announce, probe=True, timeout=slow)
            await self._call(self._announce_resume_tokens, probe=True, timeout=slow)
            changed = await self._call(self._reload_mirrors, timeout=slow)
        except BusUnavailable:
            self._needs_resync = True
            raise
        log.info("instance %s (re)joined the cluster", self._instance_id)
        # The snapshot read above and the events of instances announcing themselves at the
        # same moment travel on different connections: an event applied to the mirror may be
        # overwritten by an older snapshot that arrived after it. Everyone's announcements
        # are in Redis within a beat or two, so reading the snapshot again then converges.
        self._settle_reloads = 2
        listener = self._heard()
        if lost:
            self._rooms.difference_update(lost)
            await listener.on_rooms_lost(set(lost))
        await listener.on_resynced(changed)

    async def _settle(self) -> None:
        self._settle_reloads -= 1
        changed = await self._call(self._reload_mirrors, timeout=self._settings.timeout_s * 20)
        if changed:
            await self._heard().on_resynced(changed)

    async def _reload_mirrors(self) -> set[str]:
        locations = cast(dict[str, str], await self._redis.hgetall(self._keys.loc))
        flags = cast(dict[str, str], await self._redis.hgetall(self._keys.flags))
        return self._mirror.replace(locations, flags)
