"""Instance lives on the bus: a restart under the same name is a new life, and the earlier
one is reaped at once (never renewed, hidden or blocked by a lock); orphaned rooms."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from signaling.bus_local import LocalBus
from signaling.bus_redis import RedisBus, life_name
from signaling.bus_redis_scripts import RedisKeys
from tests.scaleout.conftest import RedisServer, until
from tests.scaleout.test_bus import RecordingListener, _redis_bus

KEYS = RedisKeys("hoiva")


async def _crash(bus: RedisBus) -> None:
    """Stop a bus the way kill -9 stops it: no goodbye to the cluster."""
    bus._healthy = False  # close() then leaves nothing behind in Redis
    await bus.close()


async def _eventually(check: Callable[[], Awaitable[bool]], tries: int) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


@pytest.fixture
async def raw(redis_server: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_restart_under_the_same_name_is_a_new_life_that_retires_the_old(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """The restarted instance neither renews nor hides its earlier life: that life is
    reaped exactly once (by someone), its sockets leave the registry, its lock is gone."""
    la1, la2, lb = RecordingListener("a"), RecordingListener("a"), RecordingListener("b")
    a1, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    await a1.start(la1)
    await b.start(lb)
    a2: RedisBus | None = None
    try:
        await a1.connection_up("tablet-1", exclusive=True)
        assert await a1.claim_room("room-1")
        await until(lambda: b.remote_instances("tablet-1") == {a1.instance_id}, 2)
        await _crash(a1)
        a2 = _redis_bus(redis_server, "a")
        await a2.start(la2)
        assert a2.instance_id != a1.instance_id
        assert life_name(a2.instance_id) == life_name(a1.instance_id) == "a"

        await until(lambda: a1.instance_id in la2.lost + lb.lost, 5)
        await until(lambda: not b.remote_instances("tablet-1"), 2)
        await asyncio.sleep(0.5)  # a second reaper would have started by now
        assert (la2.lost + lb.lost).count(a1.instance_id) == 1, "reaped exactly once"
        assert sorted(await b.live_instances()) == sorted([a2.instance_id, b.instance_id])
        assert await raw.get(KEYS.reap(a1.instance_id)) is None, "released when done"
        assert await raw.smembers(KEYS.lives("a")) == {a2.instance_id}
    finally:
        for bus in (a2, b):
            if bus is not None:
                await bus.close()


async def test_a_reap_lock_whose_holder_died_passes_on_at_once(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """A reaper that died half way (its own heartbeat gone) does not block the takeover."""
    a, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    lb = RecordingListener("b")
    await a.start(RecordingListener("a"))
    await _crash(a)
    # The lock of a reaper that died mid-takeover, for as long as a stuck one could hold it.
    await raw.set(KEYS.reap(a.instance_id), "ghost@1", px=300_000)
    await b.start(lb)
    try:
        await until(lambda: lb.lost == [a.instance_id], 5)
        assert await raw.get(KEYS.reap(a.instance_id)) is None
    finally:
        await b.close()


async def test_an_orphan_room_is_claimed_only_when_nobody_holds_or_will_adopt_it(
    redis_server: RedisServer, raw: aioredis.Redis
) -> None:
    """The sweep's claim: never a live owner's room, never one a reaper is still to adopt."""
    a, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    await a.start(RecordingListener("a"))
    await b.start(RecordingListener("b"))
    try:
        assert not await b.claim_orphan("room-0"), "Redis is fresh: not all rooms announced"
        await raw.set(KEYS.since, 0)  # as if the instances joined long ago
        assert await a.claim_room("room-1")
        assert not await b.claim_orphan("room-1"), "its owner is alive"
        await raw.sadd(KEYS.calls(a.instance_id), "room-2")
        assert not await b.claim_orphan("room-2"), "listed under a live instance"
        await _crash(a)
        # Once a is reaped (the listener adopts nothing) and its room key lapsed: orphaned.
        await _eventually(lambda: b.claim_orphan("room-1"), 100)
        assert await b.room_owner("room-1") == b.instance_id
        assert await b.claim_orphan("room-2")
    finally:
        await b.close()


async def test_the_local_bus_claims_only_rooms_it_does_not_hold() -> None:
    bus = LocalBus("solo")
    assert await bus.claim_room("room-1")
    assert not await bus.claim_orphan("room-1")
    assert await bus.claim_orphan("room-2")


async def test_a_life_never_mirrors_its_own_sockets_as_remote(redis_server: RedisServer) -> None:
    """The mirror knows this life's id: reloading it from Redis (at start and after an
    outage) must not list this life's own sockets as another instance's, or every message to
    them would arrive twice."""
    a = _redis_bus(redis_server, "a")
    await a.start(RecordingListener("a"))
    try:
        await a.connection_up("tablet-1", exclusive=True)
        await a.set_call_flag("tablet-1", "in_call")
        await a._settle()  # what the heartbeat does after a resync
        assert a.remote_instances("tablet-1") == frozenset()
        assert a.remote_flag("tablet-1") is None
    finally:
        await a.close()
