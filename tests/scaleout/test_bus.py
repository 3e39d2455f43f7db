"""The bus contract: the in-process bus and the Redis bus (against a real redis-server)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from signaling.bus import (
    Body,
    Bus,
    BusUnavailable,
    CallFlag,
    Location,
    Messaging,
    Ownership,
    PresenceRegistry,
    ResumeTokens,
)
from signaling.bus_local import LocalBus
from signaling.bus_mirror import ClusterMirror
from signaling.bus_redis import RedisBus, RedisBusSettings
from signaling.bus_redis_ownership import RedisOwnership
from signaling.bus_redis_resume import RedisResumeTokens
from tests.scaleout.conftest import RedisServer, until


class RecordingListener:
    """A BusListener that writes down what arrives and answers requests with an echo."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.delivered: list[tuple[str, str]] = []
        self.staff: list[str] = []
        self.locations: list[Location] = []
        self.flags: list[CallFlag] = []
        self.lost: list[str] = []
        self.resynced = 0

    async def on_deliver(self, subject_id: str, text: str) -> None:
        self.delivered.append((subject_id, text))

    async def on_staff(self, text: str, roles: frozenset[str]) -> None:
        self.staff.append(text)

    async def on_location(self, event: Location) -> None:
        self.locations.append(event)

    async def on_call_flag(self, event: CallFlag) -> None:
        self.flags.append(event)

    async def on_request(self, op: str, body: Body) -> Body:
        return {"ok": True, "op": op, "by": self.name, "echo": body}

    async def on_instance_lost(self, instance_id: str) -> None:
        self.lost.append(instance_id)

    async def on_resynced(self, subjects: set[str]) -> None:
        self.resynced += 1

    async def on_rooms_lost(self, room_ids: set[str]) -> None:
        pass


def _redis_bus(server: RedisServer, name: str) -> RedisBus:
    return RedisBus(
        RedisBusSettings(server.url, name, heartbeat_s=0.2, instance_ttl_s=1.0, timeout_s=0.5)
    )


@pytest.fixture(params=["local", "redis"])
async def bus(request: pytest.FixtureRequest, redis_server: RedisServer) -> AsyncIterator[Bus]:
    built: Bus = LocalBus("solo") if request.param == "local" else _redis_bus(redis_server, "a")
    await built.start(RecordingListener("a"))
    try:
        yield built
    finally:
        await built.close()


async def test_engaging_is_atomic_and_release_frees_people(bus: Bus) -> None:
    await bus.save_call("c1", b"{}")
    await bus.save_call("c2", b"{}")
    assert await bus.engage(["nurse", "client"], "c1") == []
    assert await bus.engage(["nurse2", "client"], "c2") == ["client"]
    assert await bus.engaged_call("nurse2") is None, "a refused engage marks nobody"
    await bus.release(["nurse", "client"], "c1")
    assert await bus.engage(["nurse2", "client"], "c2") == []


async def test_a_room_has_one_owner_until_released(bus: Bus) -> None:
    assert await bus.claim_room("room-1")
    assert await bus.room_owner("room-1") == bus.instance_id
    assert await bus.claim_room("room-1"), "claiming again is idempotent for the owner"
    await bus.release_room("room-1")
    assert await bus.room_owner("room-1") is None


async def test_resume_tokens_are_single_use(bus: Bus) -> None:
    await bus.put_resume("tok", "subject-1", 60)
    assert await bus.take_resume("tok") == "subject-1"
    assert await bus.take_resume("tok") is None
    assert await bus.take_resume("never-issued") is None


async def test_second_instance_cannot_take_a_live_room_or_engaged_people(
    redis_server: RedisServer,
) -> None:
    a, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    await a.start(RecordingListener("a"))
    await b.start(RecordingListener("b"))
    try:
        assert await a.claim_room("room-1")
        assert not await b.claim_room("room-1")
        assert not await b.claim_room("room-1", replacing="c"), "only from its real owner"
        assert await b.claim_room("room-1", replacing=a.instance_id), "a handover from the owner"
        assert await a.room_owner("room-1") == b.instance_id
        assert await b.calls_of(b.instance_id) == ["room-1"]
        assert await b.calls_of(a.instance_id) == []
    finally:
        await a.close()
        await b.close()


async def test_presence_routing_and_requests_cross_instances(redis_server: RedisServer) -> None:
    la, lb = RecordingListener("a"), RecordingListener("b")
    a, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    await a.start(la)
    await b.start(lb)
    try:
        await a.connection_up("tablet-1", exclusive=True)
        await until(lambda: b.remote_instances("tablet-1") == {a.instance_id}, 2)
        assert lb.locations[-1].up and lb.locations[-1].exclusive

        await b.deliver(a.instance_id, "tablet-1", '{"type":"pong"}')
        await b.publish_staff('{"type":"help.queue"}', frozenset({"nurse"}))
        await until(lambda: bool(la.delivered and la.staff), 2)
        assert la.delivered == [("tablet-1", '{"type":"pong"}')]

        reply = await b.request(a.instance_id, "ping", {"n": 1}, 2.0)
        assert reply == {"ok": True, "op": "ping", "by": "a", "echo": {"n": 1}}
        started = time.monotonic()
        with pytest.raises(BusUnavailable):
            await b.request("nobody", "ping", {}, 2.0)
        assert time.monotonic() - started < 0.5, "nobody listening: refused at once"

        await a.set_call_flag("tablet-1", "in_call")
        await until(lambda: b.remote_flag("tablet-1") is not None, 2)
        await a.connection_down("tablet-1")
        await until(lambda: not b.remote_instances("tablet-1"), 2)
        assert sorted(await b.live_instances()) == sorted([a.instance_id, b.instance_id])
    finally:
        await a.close()
        await b.close()


async def test_a_clean_close_leaves_the_cluster_at_once(redis_server: RedisServer) -> None:
    a, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    await a.start(RecordingListener("a"))
    await b.start(RecordingListener("b"))
    try:
        await a.connection_up("nurse-1", exclusive=False)
        await until(lambda: bool(b.remote_instances("nurse-1")), 2)
        await a.close()
        await until(lambda: not b.remote_instances("nurse-1"), 2)
        assert await b.live_instances() == [b.instance_id]
    finally:
        await b.close()


async def test_redis_outage_fails_fast_then_heals_and_reannounces(
    redis_server: RedisServer,
) -> None:
    """While Redis is down every call raises BusUnavailable at once (no waiting per message);
    when it is back, empty, each instance announces its sockets again by itself."""
    la, lb = RecordingListener("a"), RecordingListener("b")
    a, b = _redis_bus(redis_server, "a"), _redis_bus(redis_server, "b")
    await a.start(la)
    await b.start(lb)
    try:
        await a.connection_up("tablet-1", exclusive=True)
        await until(lambda: bool(b.remote_instances("tablet-1")), 2)
        redis_server.stop()
        await until(lambda: not a.healthy and not b.healthy, 3)
        started = time.monotonic()
        for _ in range(20):
            with pytest.raises(BusUnavailable):
                await b.deliver(a.instance_id, "tablet-1", "{}")
        assert time.monotonic() - started < 0.1
        with pytest.raises(BusUnavailable):
            # Degraded: the socket works locally and is announced when Redis is back.
            await a.connection_up("tablet-2", exclusive=True)
        redis_server.start()
        await until(lambda: a.healthy and b.healthy, 5)
        await until(lambda: b.remote_instances("tablet-2") == {a.instance_id}, 5)
        assert b.remote_instances("tablet-1") == {a.instance_id}
    finally:
        await a.close()
        await b.close()


def test_mirror_keeps_the_newest_tablet_socket_and_the_owners_flag() -> None:
    mirror = ClusterMirror("me")
    mirror.apply_location(Location("t", "a", up=True, exclusive=True, seq=1, at=0))
    mirror.apply_location(Location("t", "b", up=True, exclusive=True, seq=2, at=0))
    assert mirror.instances_of("t") == {"b"}, "a newer tablet socket replaces the older"
    mirror.apply_location(Location("s", "a", up=True, exclusive=False, seq=3, at=0))
    mirror.apply_location(Location("s", "b", up=True, exclusive=False, seq=4, at=0))
    assert mirror.instances_of("s") == {"a", "b"}, "staff may have several dashboards"
    mirror.forget_instance("b")
    assert mirror.instances_of("t") == frozenset() and mirror.instances_of("s") == {"a"}

    mirror.apply_flag(CallFlag("c", "in_call", "b", 0))
    mirror.apply_flag(CallFlag("c", None, "a", 0))  # a late "none" from an older owner
    assert mirror.flag("c") is not None and mirror.flag("c").instance_id == "b"  # type: ignore[union-attr]
    mirror.apply_flag(CallFlag("c", None, "b", 0))
    assert mirror.flag("c") is None
    changed = mirror.replace({"t": "a:7", "x": "me:1"}, {"c": "ringing|a|1.5"})
    assert changed == {"t", "s", "c"} and mirror.instances_of("x") == frozenset()


async def test_the_local_bus_has_no_one_else_to_ask() -> None:
    bus = LocalBus("solo")
    await bus.start(RecordingListener("solo"))
    assert bus.remote_instances("x") == frozenset() and bus.remote_subjects() == {}
    await bus.deliver("other", "x", "{}")  # nobody to route to: nothing happens
    await bus.publish_staff("{}", frozenset())
    with pytest.raises(BusUnavailable):
        await bus.request("other", "ping", {}, 1.0)
    assert await bus.live_instances() == ["solo"]
    await bus.set_draining()
    assert await bus.live_instances() == []
    await bus.close()


class _Sweep:
    def __init__(self) -> None:
        self.started = False

    def start(self) -> None:
        self.started = True


async def test_what_outlives_an_instance_is_the_buss_decision(redis_server: RedisServer) -> None:
    """Nobody asks which bus it is: the local bus neither sweeps nor drains (its calls end
    with the process), the Redis bus does both, because another instance may carry calls on."""
    handed: list[str] = []

    async def hand_over() -> None:
        handed.append("drained")

    local_sweep, cluster_sweep = _Sweep(), _Sweep()
    local: Bus = LocalBus("solo")
    local.succession.start_sweep(local_sweep)
    await local.succession.drain(hand_over)
    assert not local_sweep.started and handed == []

    several: Bus = _redis_bus(redis_server, "a")
    several.succession.start_sweep(cluster_sweep)
    await several.succession.drain(hand_over)
    assert cluster_sweep.started and handed == ["drained"]


def test_the_redis_bus_is_a_local_bus_with_only_the_cross_instance_parts_added(
    redis_server: RedisServer,
) -> None:
    """LiveKit's layering: every Redis part builds on LocalBus and keeps its local records."""
    bus = _redis_bus(redis_server, "a")
    assert isinstance(bus, LocalBus)
    assert isinstance(bus, RedisOwnership) and isinstance(bus, RedisResumeTokens)
    # Each service depends on one concern; both buses offer every one of them.
    ports: tuple[Messaging, PresenceRegistry, Ownership, ResumeTokens] = (bus, bus, bus, bus)
    local = LocalBus("solo")
    local_ports: tuple[Messaging, PresenceRegistry, Ownership, ResumeTokens] = (
        local,
        local,
        local,
        local,
    )
    assert len(ports) == len(local_ports)


async def test_the_redis_bus_keeps_what_it_holds_in_its_local_layer(
    redis_server: RedisServer,
) -> None:
    """The records the local layer keeps (engaged marks, rooms, draining, resume tokens) are
    what the Redis bus announces again after an outage, so they must follow every change."""
    bus = _redis_bus(redis_server, "a")
    await bus.start(RecordingListener("a"))
    try:
        await bus.save_call("c1", b"{}")
        assert await bus.engage(["nurse", "client"], "c1") == []
        assert await bus.claim_room("c1")
        await bus.put_resume("tok", "nurse", 60)
        assert await LocalBus.engaged_call(bus, "client") == "c1"
        assert await LocalBus.room_owner(bus, "c1") == bus.instance_id
        await bus.release(["nurse", "client"], "c1")
        await bus.release_room("c1")
        assert await LocalBus.engaged_call(bus, "client") is None
        assert await LocalBus.room_owner(bus, "c1") is None
        assert await bus.take_resume("tok") == "nurse"
        await bus.set_draining()
        assert await LocalBus.live_instances(bus) == []
    finally:
        await bus.close()
