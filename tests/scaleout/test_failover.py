"""kill -9 of an instance during a call: whichever part of the call it held comes back by itself."""

from __future__ import annotations

import asyncio
import time

from care_sessions.records import EndReason
from protocol.messages import CallAccepted
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster, until
from tests.scaleout.failover_kit import (
    CrossCall,
    FrameWatch,
    RecordingTablet,
    call_across,
    frames_after,
    kill_and_restart,
    media_back,
    open_rows,
    row_locked,
    writer_held_back,
)

# test_degraded.py (and older callers) use these names.
__all__ = ["FrameWatch", "RecordingTablet", "_call_across", "_frames_after"]
_frames_after = frames_after


async def _call_across(
    cluster: Cluster, nurse_at: str, tablet_at: str
) -> tuple[HeadlessNurse, RecordingTablet, str, str]:
    call = await call_across(cluster, nurse_at, tablet_at)
    return call.nurse, call.tablet, call.call_id, call.client_id


async def test_killing_the_tablets_instance_never_stops_media(cluster: Cluster) -> None:
    """kill -9 of the instance holding the tablet's socket (not the media): frames never
    stop at either end, and the tablet's signaling is back (on the other instance) in 5 s."""
    await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    nurse, tablet, call_id, _ = await _call_across(cluster, nurse_at="a", tablet_at="b")
    assert nurse.peer is not None and tablet.peer is not None
    watches = [FrameWatch(nurse.peer), FrameWatch(tablet.peer)]
    try:
        killed_at = time.monotonic()
        b.kill9()
        await asyncio.sleep(0.2)
        # The server restores the resumed socket into its call with call.accepted.
        await until(
            lambda: any(at > killed_at and isinstance(m, CallAccepted) for at, m in tablet.seen),
            5,
        )
        resumed_after = time.monotonic() - killed_at
        await asyncio.sleep(max(0.0, 6 - resumed_after))  # keep watching the media a while
        assert tablet.connected.is_set() and resumed_after < 5
        for watch in watches:
            assert watch.longest_gap < 0.5, f"media stopped for {watch.longest_gap:.2f} s"
        assert tablet.media_restarts == 0 and nurse.media_restarts == 0

        await tablet.hang_up()  # signaling works end to end through instance a now
        await asyncio.wait_for(nurse.ended.wait(), 5)
        record = await cluster.store.session(call_id)
        assert record is not None and record.end_reason is EndReason.COMPLETED
        assert record.interruptions == 0
    finally:
        for watch in watches:
            await watch.stop()
        await nurse.stop()
        await tablet.stop()


async def test_killing_the_media_instance_moves_the_call_without_anyone_acting(
    cluster: Cluster,
) -> None:
    """kill -9 of the instance hosting the call's media room (and the nurse's socket): a
    survivor adopts the call, both ends offer to its media server by themselves, frames flow
    again within 10 s, and the record shows one call with one interruption and its outcome."""
    a = await cluster.add_instance("a")
    await cluster.add_instance("b")
    nurse, tablet, call_id, client_id = await _call_across(cluster, nurse_at="a", tablet_at="b")
    try:
        killed_at = time.monotonic()
        a.kill9()
        await asyncio.wait_for(tablet.in_call.wait(), 10)
        to_nurse = await _frames_after(
            lambda: nurse.peer if nurse.media_restarts else None, killed_at, 20, 10
        )
        to_tablet = await _frames_after(
            lambda: tablet.peer if tablet.media_restarts else None, killed_at, 20, 10
        )
        assert max(to_nurse, to_tablet) < 10
        assert nurse.peer is not None and tablet.peer is not None
        marks = [m for track in nurse.peer.stats.marks.values() for m in track]
        assert {source for source, _ in marks} == {1}, "the nurse sees the tablet again"

        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        record = await cluster.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED
        assert record.interruptions == 1
        sessions = [s for s in await cluster.store.recent_sessions() if s.client_id == client_id]
        assert [s.id for s in sessions] == [call_id], "one call, not two"
    finally:
        await nurse.stop()
        await tablet.stop()


async def test_a_dead_instances_tablets_go_offline_everywhere(cluster: Cluster) -> None:
    """Presence expiry: kill -9 of the instance holding a tablet that cannot reconnect (it
    knows only that instance); a nurse on the survivor sees it offline once the survivors
    find the instance dead (it stopped listening and missed a beat), not never."""
    a = await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    client, token = await cluster.add_client("Aino")
    tablet = HeadlessTablet(b.url, token)
    nurse = HeadlessNurse(a.url, "nurse1", NURSE_PASSWORD)
    await tablet.start()
    await nurse.start()
    try:
        await until(lambda: nurse.view.presence.get(client.id) == "online", 5)
        b.kill9()
        await until(lambda: nurse.view.presence.get(client.id) == "offline", 6)
        await a.wait_healthy(1)
    finally:
        await nurse.stop()
        await tablet.stop()


# A dead life's heartbeat key would last this long: adoption well inside it shows that a
# restarted instance neither renews nor hides its earlier life.
LONG_EXPIRY = {"bus__instance_ttl_s": "30"}


async def _ends_as_one_call(cluster: Cluster, call: CrossCall, *, interruptions: int) -> None:
    """The nurse hangs up through whichever instance owns the call now; the record is one
    completed call with its interruptions, and no record is left open."""
    await call.nurse.hang_up()
    await asyncio.wait_for(call.tablet.call_over.wait(), 10)
    record = await cluster.store.session(call.call_id)
    assert record is not None
    assert record.end_reason is EndReason.COMPLETED
    assert record.interruptions == interruptions
    sessions = await cluster.store.sessions_for_client(call.client_id)
    assert [s.id for s in sessions] == [call.call_id], "one call, not two"
    assert await open_rows(cluster.store) == []


async def test_kill9_and_restart_under_the_same_id_adopts_the_call(cluster: Cluster) -> None:
    """compose.yaml's restart policy: kill -9 of the instance hosting the call's media and
    the same instance id back at once. The call is not stuck: both ends get media.restart,
    frames flow again, and the record is one call with one interruption."""
    a = await cluster.add_instance("a", **LONG_EXPIRY)
    await cluster.add_instance("b", **LONG_EXPIRY)
    call = await call_across(cluster, nurse_at="a", tablet_at="b")
    try:
        killed_at = time.monotonic()
        await kill_and_restart(a)
        await media_back(call, killed_at, restarts=1, timeout=20)
        await _ends_as_one_call(cluster, call, interruptions=1)
    finally:
        await call.stop()


async def test_a_second_death_within_a_minute_is_adopted_like_the_first(
    cluster: Cluster,
) -> None:
    """The same instance dies again soon after its first death (restarted, hosting a new
    call): no takeover lock from the first death holds the second call back."""
    a = await cluster.add_instance("a", **LONG_EXPIRY)
    await cluster.add_instance("b", **LONG_EXPIRY)
    first = await call_across(cluster, nurse_at="a", tablet_at="b")
    try:
        killed_at = time.monotonic()
        await kill_and_restart(a)
        await media_back(first, killed_at, restarts=1, timeout=20)
        await _ends_as_one_call(cluster, first, interruptions=1)
    finally:
        await first.stop()

    second = await call_across(cluster, nurse_at="a", tablet_at="b", nurse="nurse2", name="Bea")
    try:
        assert await cluster.host_of(second.call_id) is a, "hosted by a's second life"
        killed_at = time.monotonic()
        await kill_and_restart(a)
        await media_back(second, killed_at, restarts=1, timeout=20)
        await _ends_as_one_call(cluster, second, interruptions=1)
    finally:
        await second.stop()


async def test_a_survivor_killed_while_taking_a_call_over_does_not_strand_it(
    cluster: Cluster,
) -> None:
    """kill -9 of the media host, then of the survivor in the middle of its takeover (held
    at writing the call's record, behind a row lock this test holds), then both back under
    their ids: the call is taken over again, frames flow, one record, nothing left open."""
    a = await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    call = await call_across(cluster, nurse_at="a", tablet_at="b")
    engine = cluster.store.engine
    try:
        killed_at = time.monotonic()
        async with row_locked(engine, call.call_id):
            a.kill9()
            await a.wait_exit(10)
            await writer_held_back(engine, 30)  # b is taking the call over
            assert await cluster.host_of(call.call_id) is b
            b.kill9()
            await b.wait_exit(10)
        await asyncio.gather(a.start(), b.start())
        await media_back(call, killed_at, restarts=1, timeout=60)
        await _ends_as_one_call(cluster, call, interruptions=1)
    finally:
        await call.stop()
