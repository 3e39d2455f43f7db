"""The direct receive path (media/direct_receive.py) takes a publisher's RTP straight from the
socket, keeps the transport's counters, and leaves RTCP and the rest to aiortc."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc.rtp import is_rtcp
from aiortc.stats import RTCTransportStats

from media import aiortc_internals
from media.forwarding import ForwardingReceiver
from tests.media.media_harness import Call

# Fast path only: they test direct_receive.py, a fast-path module (RTP read from the ICE socket
# past aiortc).
pytestmark = pytest.mark.fast_path_only


def _received(transport: Any) -> int:
    report = aiortc_internals.transport_stats(transport)
    [stats] = [s for s in report.values() if isinstance(s, RTCTransportStats)]
    return int(stats.packetsReceived)


async def test_publisher_rtp_bypasses_aioice_and_is_counted(call: Call) -> None:
    await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)
    receivers, _ = call.room.forwarding_parts("alice")
    video = next(r for r in receivers if r.media_kind == "video")
    assert isinstance(video, ForwardingReceiver)
    dtls: Any = video.transport
    connection: Any = aiortc_internals.ice_connection(dtls)
    through_aioice: list[bytes] = []
    data_received = connection.data_received

    def counting(data: bytes, component: int) -> None:
        through_aioice.append(data)
        data_received(data, component)

    connection.data_received = counting
    try:
        counted_before, packets_before = _received(dtls), video.packets_received
        await bob.wait_for_video_frames(bob.stats.video_frames["1"] + 10, timeout=10)
        counted = _received(dtls) - counted_before
        packets = video.packets_received - packets_before
    finally:
        connection.data_received = data_received
    assert packets >= 10
    # None of Alice's RTP went through aioice's queue (RTCP may), and the transport counted
    # every packet, as getStats() reports it.
    assert not [d for d in through_aioice if not is_rtcp(d)]
    assert counted >= packets
