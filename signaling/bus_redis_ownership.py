"""Ownership and liveness across instances: calls, rooms, engaged people, lives, takeovers.

Which instance hosts a call's room (`hoiva:room:<call>`, renewed with every heartbeat), who
is in which call (`hoiva:engaged:<subject>`, busy only while the call's snapshot exists), the
snapshots survivors adopt from, and the liveness of instances: heartbeats, the watch for the
dead (four times a beat), the reap lock of a dead life and its takeover, and the retirement
of a restarted instance's earlier lives. The local part (engaged marks, rooms, draining) is
LocalBus's, kept here the same way so that it can be announced again after an outage.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from redis.asyncio.client import Pipeline

from signaling.bus import BusUnavailable, Succession, Sweeper
from signaling.bus_redis_link import RedisBusSettings, RedisLinked, life_name

log = logging.getLogger(__name__)
CALL_SNAPSHOT_TTL_S = 24 * 3600  # a call never lasts a day; a stale snapshot then frees people
# A reap lock holds while its holder lives and is deleted when the takeover completes; this
# expiry only collects the lock of a reaper stuck for good (alive, yet never finishing).
REAP_LOCK_BACKSTOP_MS = 300_000
_SINCE_NOW = (
    "local t = redis.call('TIME') "
    "return redis.call('SET', KEYS[1], t[1] * 1000 + math.floor(t[2] / 1000), 'NX')"
)


class ClusterSuccession:
    """Several instances: a call outlives its instance, so orphans are swept and drains move."""

    def start_sweep(self, sweep: Sweeper) -> None:
        sweep.start()

    async def drain(self, hand_over: Callable[[], Awaitable[None]]) -> None:
        await hand_over()


class RedisOwnership(RedisLinked):
    """signaling.bus.Ownership in Redis, with the heartbeats and takeovers behind it."""

    def __init__(self, settings: RedisBusSettings) -> None:
        super().__init__(settings)
        # The latest snapshot of each call held here, to write again after an outage.
        self._snapshots: dict[str, bytes] = {}
        self._reaping: set[str] = set()

    @property
    def succession(self) -> Succession:
        return ClusterSuccession()

    # ---- calls and rooms -----------------------------------------------------------------

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
        await super().release(subject_ids, call_id)
        await self._call(
            lambda: self._scripts["release"](
                keys=[self._keys.engaged(s) for s in subject_ids], args=[call_id]
            )
        )

    async def engaged_call(self, subject_id: str) -> str | None:
        value = await self._call(lambda: self._redis.get(self._keys.engaged(subject_id)))
        return cast(str | None, value)

    async def claim_room(self, room_id: str, *, replacing: str | None = None) -> bool:
        me = self._instance_id
        claimed = await self._call(
            lambda: self._scripts["claim"](
                keys=[
                    self._keys.room(room_id),
                    self._keys.calls(me),
                    self._keys.calls(replacing or me),
                ],
                args=[me, self._ttl_ms, replacing or "", room_id],
            )
        )
        if claimed:
            self._rooms.add(room_id)
        return bool(claimed)

    async def room_owner(self, room_id: str) -> str | None:
        value = await self._call(lambda: self._redis.get(self._keys.room(room_id)))
        return cast(str | None, value)

    async def release_room(self, room_id: str) -> None:
        await super().release_room(room_id)
        await self._call(
            lambda: self._scripts["release_room"](
                keys=[self._keys.room(room_id), self._keys.calls(self._instance_id)],
                args=[self._instance_id, room_id],
            )
        )

    async def claim_orphan(self, room_id: str) -> bool:
        claimed = await self._call(
            lambda: self._scripts["claim_orphan"](
                keys=[self._keys.room(room_id), self._keys.instances, self._keys.since],
                args=[
                    self._instance_id,
                    self._ttl_ms,
                    room_id,
                    self._keys.alive(""),
                    self._keys.calls(""),
                    2 * self._ttl_ms,
                ],
            )
        )
        return bool(claimed)

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

    async def _queue_holdings(self, pipe: Pipeline) -> list[str]:
        """Queue the announcement of the snapshots, engaged marks and rooms held here; returns
        the rooms, whose claims are the pipeline's last results."""
        for call_id, snapshot in list(self._snapshots.items()):
            pipe.set(self._keys.call(call_id), snapshot, ex=CALL_SNAPSHOT_TTL_S)
        for subject, call_id in list(self._engaged.items()):
            pipe.set(self._keys.engaged(subject), call_id)
        rooms = sorted(self._rooms)
        me = self._instance_id
        for room in rooms:
            await self._scripts["claim"](
                keys=[self._keys.room(room), self._keys.calls(me), self._keys.calls(me)],
                args=[me, self._ttl_ms, "", room],
                client=pipe,
            )
        return rooms

    # ---- instances -----------------------------------------------------------------------

    async def live_instances(self) -> list[str]:
        alive = await self._call(self._instances_alive)
        draining = await self._call(lambda: self._redis.smembers(self._keys.draining))
        return [m for m, up in alive if up and m not in draining]

    async def set_draining(self) -> None:
        await super().set_draining()
        await self._call(lambda: self._redis.sadd(self._keys.draining, self._instance_id))

    async def _instances_alive(self) -> list[tuple[str, bool]]:
        members = sorted(cast(set[str], await self._redis.smembers(self._keys.instances)))
        if not members:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member in members:
                pipe.pttl(self._keys.alive(member))
            pipe.pubsub_numsub(*[self._keys.inbox(m) for m in members])
            results = await pipe.execute()
        listening = {str(c): int(n) for c, n in cast(list[tuple[str, int]], results[-1])}
        return [
            (m, self._is_alive(int(ttl), listening.get(self._keys.inbox(m), 0)))
            for m, ttl in zip(members, results[:-1], strict=True)
        ]

    def _is_alive(self, ttl_ms: int, listeners: int) -> bool:
        """Alive while its heartbeat key lasts, unless it missed beats and stopped listening.

        A process that died (kill -9, a crash) loses its subscriber connection at once, so it
        is seen dead a beat and a half after its last heartbeat instead of a whole TTL later;
        a live one that is only slow keeps its subscription and is never taken for dead.
        """
        if ttl_ms == -2:
            return False
        missed_beats = ttl_ms < self._ttl_ms - 1.5 * self._settings.heartbeat_s * 1000
        return not (missed_beats and listeners == 0)

    # ---- lives: heartbeats, retirement, the dead and their takeover ----------------------

    async def _retire_earlier_lives(self) -> list[str]:
        earlier = await self._scripts["retire"](
            keys=[self._keys.lives(self._name), self._keys.instances],
            args=[self._instance_id, self._keys.alive("")],
        )
        return [str(life) for life in cast(list[Any], earlier)]

    def _queue_alive(self, pipe: Pipeline) -> None:
        """Queue the announcement of this life (after an outage, or at start)."""
        me = self._instance_id
        pipe.set(self._keys.alive(me), "1", px=self._ttl_ms)
        pipe.sadd(self._keys.instances, me)
        pipe.sadd(self._keys.lives(self._name), me)
        # Redis's own clock: the instances' clocks need not agree.
        pipe.eval(_SINCE_NOW, 1, self._keys.since)
        if self._draining:
            pipe.sadd(self._keys.draining, me)

    async def _beat(self) -> None:
        """Say this instance is alive and renew its rooms; also the probe that heals the bus."""

        async def beat() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.set(self._keys.alive(self._instance_id), "1", px=self._ttl_ms)
                pipe.sadd(self._keys.instances, self._instance_id)
                rooms = sorted(self._rooms)
                if rooms:
                    await self._scripts["renew"](
                        keys=[self._keys.room(r) for r in rooms],
                        args=[self._instance_id, self._ttl_ms],
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
        for dead in [m for m, up in alive if not up and m != self._instance_id]:
            if dead in self._reaping:
                continue
            # One survivor reaps a dead life; the lock is its own (a life never repeats), is
            # released when the takeover completes, and passes on at once if its holder dies.
            if await self._call(self._reap_lock(dead)):
                self._reaping.add(dead)
                self._spawn(self._reap(dead))

    def _reap_lock(self, dead: str) -> Callable[[], Awaitable[Any]]:
        return lambda: self._scripts["reap_lock"](
            keys=[self._keys.reap(dead)],
            args=[self._instance_id, self._keys.alive(""), REAP_LOCK_BACKSTOP_MS],
        )

    async def _reap(self, dead: str) -> None:
        try:
            await self._take_over(dead)
        finally:
            self._reaping.discard(dead)
            # Done, or failed half way: either way the next beat (here or anywhere) may go on.
            with contextlib.suppress(BusUnavailable):
                await self._call(
                    lambda: self._scripts["unlock"](
                        keys=[self._keys.reap(dead)], args=[self._instance_id]
                    )
                )

    async def _take_over(self, dead: str) -> None:
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
            await self._heard().on_instance_lost(dead)
            await self._call(
                lambda: self._scripts["reap_flags"](
                    keys=[self._keys.flags], args=[dead, time.time(), self._keys.events]
                )
            )

            async def forget() -> None:
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.srem(self._keys.instances, dead)
                    pipe.srem(self._keys.draining, dead)
                    pipe.srem(self._keys.lives(life_name(dead)), dead)
                    pipe.delete(self._keys.calls(dead))
                    await pipe.execute()

            await self._call(forget)
        except BusUnavailable:
            log.warning("lost Redis while reaping %s; another survivor will retry", dead)
