"""Two real instances over a real Redis: a call across them, presence seen from both."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from care_sessions.records import EndReason
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster, until

NURSE_SOURCE = 100
TABLET_SOURCE = 7


def _sees(nurse: HeadlessNurse, client_id: str, status: str) -> Callable[[], bool]:
    return lambda: nurse.view.presence.get(client_id) == status


async def test_nurse_on_a_calls_tablet_on_b_and_frames_flow_both_ways(cluster: Cluster) -> None:
    """The call's room lives on A; the tablet's socket is on B and gets A's SDP through B."""
    a = await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    client, token = await cluster.add_client("Aino")
    tablet = HeadlessTablet(b.url, token, source_id=TABLET_SOURCE, answer_after_s=0)
    nurse = HeadlessNurse(a.url, "nurse1", NURSE_PASSWORD, source_id=NURSE_SOURCE)
    await tablet.start()
    await nurse.start()
    try:
        await until(lambda: nurse.view.presence.get(client.id) == "online", 5)
        call_id = await nurse.call(client.id)
        await asyncio.wait_for(tablet.in_call.wait(), 5)
        assert nurse.peer is not None and tablet.peer is not None
        await nurse.peer.wait_for_video_frames(30, timeout=10)
        await tablet.peer.wait_for_video_frames(30, timeout=10)
        for peer, other in ((nurse.peer, TABLET_SOURCE), (tablet.peer, NURSE_SOURCE)):
            marks = [m for track in peer.stats.marks.values() for m in track]
            assert {source for source, _ in marks} == {other}
            assert peer.stats.audio_frames > 0

        await tablet.hang_up()  # from B, forwarded to A which owns the call
        await asyncio.wait_for(nurse.ended.wait(), 5)
        record = await cluster.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED
        assert record.ended_by == client.id
        assert record.media_at is not None and record.interruptions == 0
    finally:
        await nurse.stop()
        await tablet.stop()


async def test_presence_is_the_same_seen_from_both_instances(cluster: Cluster) -> None:
    """A tablet on B is online for a nurse on A and one on B; ringing and offline too."""
    a = await cluster.add_instance("a")
    b = await cluster.add_instance("b")
    client, token = await cluster.add_client("Aino")
    nurse_a = HeadlessNurse(a.url, "nurse1", NURSE_PASSWORD)
    nurse_b = HeadlessNurse(b.url, "nurse2", NURSE_PASSWORD)
    await nurse_a.start()
    await nurse_b.start()
    tablet = HeadlessTablet(b.url, token, answer_after_s=None)
    try:
        assert nurse_a.view.presence[client.id] == "offline"
        await tablet.start()
        for nurse in (nurse_a, nurse_b):
            await until(_sees(nurse, client.id, "online"), 5)

        await nurse_a.call(client.id)  # rings on B, owned by A
        for nurse in (nurse_a, nurse_b):
            await until(_sees(nurse, client.id, "ringing"), 5)
        await nurse_a.hang_up()
        for nurse in (nurse_a, nurse_b):
            await until(_sees(nurse, client.id, "online"), 5)

        # A nurse who signs in later on A gets the same roster in her snapshot.
        late = HeadlessNurse(a.url, "nurse2", NURSE_PASSWORD)
        await late.start()
        try:
            await until(lambda: client.id in late.view.presence, 5)
            assert late.view.presence[client.id] == "online"
        finally:
            await late.stop()

        await tablet.stop()
        for nurse in (nurse_a, nurse_b):
            await until(_sees(nurse, client.id, "offline"), 5)
    finally:
        await tablet.stop()
        await nurse_a.stop()
        await nurse_b.stop()
