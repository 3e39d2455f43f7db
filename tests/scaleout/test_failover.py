"""kill -9 of an instance during a call: whichever part of the call it held comes back by itself."""

from __future__ import annotations

import asyncio
import time

from care_sessions.records import EndReason
from media.client_peer import ClientPeer
from signaling.protocol import CallAccepted, ServerMessage
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster, until


class RecordingTablet(HeadlessTablet):
    """A headless tablet that remembers when each message arrived."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.seen: list[tuple[float, ServerMessage]] = []

    async def _on_message(self, message: ServerMessage) -> None:
        self.seen.append((time.monotonic(), message))
        await super()._on_message(message)


class FrameWatch:
    """Samples a peer's decoded-frame count; the longest stretch without a new frame."""

    def __init__(self, peer: ClientPeer) -> None:
        self._peer = peer
        self.longest_gap = 0.0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        last_count, last_change = -1, time.monotonic()
        while True:
            count = sum(self._peer.stats.video_frames.values())
            now = time.monotonic()
            if count != last_count:
                last_count, last_change = count, now
            self.longest_gap = max(self.longest_gap, now - last_change)
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self._task.cancel()


async def _frames_after(get_peer: object, since: float, n: int, timeout: float) -> float:
    """Seconds from `since` until the current peer (it may be replaced) decoded n frames."""
    assert callable(get_peer)
    async with asyncio.timeout(timeout):
        while True:
            peer = get_peer()
            if peer is not None and sum(peer.stats.video_frames.values()) >= n:
                return time.monotonic() - since
            await asyncio.sleep(0.02)


async def _call_across(
    cluster: Cluster, nurse_at: str, tablet_at: str
) -> tuple[HeadlessNurse, RecordingTablet, str, str]:
    others = [i for i in cluster.instances if i != nurse_at]
    client, token = await cluster.add_client("Aino")
    nurse = HeadlessNurse(cluster.urls(nurse_at, *others), "nurse1", NURSE_PASSWORD, reconnect=True)
    tablet_others = [i for i in cluster.instances if i != tablet_at]
    tablet = RecordingTablet(cluster.urls(tablet_at, *tablet_others), token, answer_after_s=0)
    await tablet.start()
    await nurse.start()
    call_id = await nurse.call(client.id)
    await asyncio.wait_for(tablet.in_call.wait(), 5)
    assert nurse.peer is not None and tablet.peer is not None
    await nurse.peer.wait_for_video_frames(20, timeout=10)
    await tablet.peer.wait_for_video_frames(20, timeout=10)
    return nurse, tablet, call_id, client.id


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
    knows only that instance); a nurse on the survivor sees it offline once the dead
    instance's heartbeat expired (instance_ttl_s 2 s here), not never."""
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
        gone_after = await until(lambda: nurse.view.presence.get(client.id) == "offline", 6)
        assert gone_after > 0.5, "offline only when the heartbeat expired"
        assert (await a.wait_healthy(1)) is None
    finally:
        await nurse.stop()
        await tablet.stop()
