"""The open-call sweep: a record whose call no instance holds is closed as `orphaned`, its
people are told and freed; the records of live calls are left alone."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import redis.asyncio as aioredis

from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord
from tests.scaleout.conftest import Cluster, until
from tests.scaleout.failover_kit import call_across


async def _reason(cluster: Cluster, call_id: str, timeout: float) -> EndReason | None:
    """The record's end reason once it has one (None if it stays open that long)."""
    async with asyncio.timeout(timeout):
        while True:
            record = await cluster.store.session(call_id)
            if record is not None and record.end_reason is not None:
                return record.end_reason
            await asyncio.sleep(0.2)


async def test_an_orphaned_record_is_closed_and_a_live_calls_record_is_not(
    cluster: Cluster,
) -> None:
    """A record left open by a call nobody holds (a crash before Redis knew the call, a lost
    Redis) is closed as orphaned; the live call next to it goes on and ends as completed."""
    await cluster.add_instance("a")
    await cluster.add_instance("b")
    live = await call_across(cluster, nurse_at="a", tablet_at="b")
    other, _ = await cluster.add_client("Bea")
    nurse = cluster.nurses[0]
    orphan = SessionRecord(
        id=str(uuid.uuid4()),
        kind=SessionKind.CALL,
        client_id=other.id,
        started_by=nurse.id,
        ring_at=datetime.now(UTC) - timedelta(minutes=5),
        participants=[
            SessionParticipant("staff", nurse.id, nurse.display_name),
            SessionParticipant("client", other.id, other.display_name),
        ],
        answer_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    await cluster.store.session_started(orphan)
    try:
        assert await _reason(cluster, orphan.id, 30) is EndReason.ORPHANED
        record = await cluster.store.session(live.call_id)
        assert record is not None and record.end_at is None, "a live call is not swept"
        assert live.tablet.peer is not None
        frames = sum(live.tablet.peer.stats.video_frames.values())
        await live.tablet.peer.wait_for_video_frames(frames + 10, timeout=10)
        await live.nurse.hang_up()
        assert await _reason(cluster, live.call_id, 10) is EndReason.COMPLETED
    finally:
        await live.stop()


async def test_a_call_nobody_can_adopt_is_ended_and_its_people_are_free(cluster: Cluster) -> None:
    """The host dies and its call cannot be adopted (its snapshot is gone): the call is not
    left open. Its record ends `orphaned`, the tablet hears `call.ended`, and the nurse can
    call the same client again at once (nobody is stuck "in a call")."""
    a = await cluster.add_instance("a")
    await cluster.add_instance("b")
    call = await call_across(cluster, nurse_at="a", tablet_at="b")
    try:
        async with aioredis.from_url(cluster.redis.url) as redis:
            await redis.delete(f"hoiva:call:{call.call_id}")
        a.kill9()
        assert await _reason(cluster, call.call_id, 30) is EndReason.ORPHANED
        await until(lambda: call.tablet.log.ended.get(call.call_id) == "orphaned", 10)
        await asyncio.wait_for(call.nurse.connected.wait(), 10)
        again = await call.nurse.call(call.client_id)
        assert again != call.call_id
        await asyncio.wait_for(call.tablet.in_call.wait(), 10)
        await call.nurse.hang_up()
        assert await _reason(cluster, again, 10) is EndReason.COMPLETED
    finally:
        await call.stop()
