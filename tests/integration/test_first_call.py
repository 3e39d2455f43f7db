"""The first call: a headless nurse calls a headless tablet through Hoiva's media server."""

from __future__ import annotations

import asyncio

from care_sessions.records import EndReason
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD, RunningServer

NURSE_SOURCE = 100
TABLET_SOURCE = 7


async def test_nurse_and_tablet_see_each_others_pattern(server: RunningServer) -> None:
    """Each end decodes >= 30 frames carrying the other's marks, in order; audio flows both ways."""
    client = await server.add_client("Aino")
    tablet = HeadlessTablet(
        server.url, await server.enrol_tablet(client), source_id=TABLET_SOURCE, answer_after_s=0
    )
    nurse = HeadlessNurse(server.url, "nurse1", NURSE_PASSWORD, source_id=NURSE_SOURCE)
    await tablet.start()
    await nurse.start()
    try:
        call_id = await nurse.call(client.id)
        await asyncio.wait_for(tablet.in_call.wait(), 5)
        assert nurse.peer is not None and tablet.peer is not None
        await nurse.peer.wait_for_video_frames(30, timeout=10)
        await tablet.peer.wait_for_video_frames(30, timeout=10)

        for peer, other in ((nurse.peer, TABLET_SOURCE), (tablet.peer, NURSE_SOURCE)):
            marks = [m for track in peer.stats.marks.values() for m in track]
            assert len(marks) >= 30
            assert {source for source, _ in marks} == {other}
            counters = [counter for _, counter in marks]
            assert counters == sorted(counters), "frames arrived out of order"
            assert peer.stats.audio_frames > 0

        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        record = await server.services.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED
        assert record.ended_by == server.nurses[0].id
        assert record.answer_at is not None and record.media_at is not None
        assert record.ring_at <= record.answer_at <= record.media_at <= record.end_at  # type: ignore[operator]
    finally:
        await nurse.stop()
        await tablet.stop()
