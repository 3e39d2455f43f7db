"""The direct route (media/direct_send.py) carries forwarded copies on a UDP pair and keeps the
transport's own counters, and steps aside where aiortc's path is needed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.stats import (
    RTCOutboundRtpStreamStats,
    RTCRemoteOutboundRtpStreamStats,
    RTCTransportStats,
)

from media import aiortc_internals
from media.client_peer import ClientPeer
from media.direct_send import direct_route
from media.forwarding import ForwardingSender
from tests.media.media_harness import Call

# Fast path only: they test direct_send.py, a fast-path module (copies protected and sent past
# aiortc).
pytestmark = pytest.mark.fast_path_only


def _sent(transport: RTCDtlsTransport) -> tuple[int, int]:
    report = aiortc_internals.transport_stats(transport)
    [stats] = [s for s in report.values() if isinstance(s, RTCTransportStats)]
    return stats.packetsSent, stats.bytesSent


async def _bob_watching_alice(call: Call) -> tuple[ClientPeer, ForwardingSender]:
    """Bob, receiving Alice's video, and the server's sender of that video to him."""
    await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)
    _, senders = call.room.forwarding_parts("bob")
    sender = next(s for s in senders if isinstance(s, ForwardingSender) and s.kind == "video")
    return bob, sender


async def test_forwarded_copies_take_the_direct_path_and_are_counted(call: Call) -> None:
    bob, sender = await _bob_watching_alice(call)
    transport: Any = sender.transport
    slow: list[bytes] = []
    send_rtp = aiortc_internals.send_rtp_function(transport)

    async def counting(data: bytes) -> None:
        slow.append(data)
        await send_rtp(data)

    aiortc_internals.set_send_rtp_function(transport, counting)
    try:
        packets_before, bytes_before = _sent(transport)
        forwarded_before = sender.packets_forwarded
        await bob.wait_for_video_frames(bob.stats.video_frames["1"] + 10, timeout=10)
        packets_after, bytes_after = _sent(transport)
        forwarded = sender.packets_forwarded - forwarded_before
    finally:
        aiortc_internals.set_send_rtp_function(transport, send_rtp)
    assert forwarded >= 10
    # Every forwarded copy left by the direct path (aiortc's path saw at most RTCP) and the
    # transport counted each one, as getStats() reports them.
    assert not [d for d in slow if int.from_bytes(d[8:12], "big") == sender.ssrc]
    assert packets_after - packets_before >= forwarded
    assert bytes_after > bytes_before


async def test_a_transport_that_is_not_connected_takes_aiortcs_path(call: Call) -> None:
    alice = await call.join("alice", source_id=1)
    await call.join("bob", source_id=2)
    await alice.wait_for_video_frames(1, timeout=10)
    _, senders = call.room.forwarding_parts("alice")
    transport: Any = senders[0].transport
    assert direct_route(transport) is not None
    await transport.stop()
    for _ in range(100):
        if transport.state == "closed":
            break
        await asyncio.sleep(0.01)
    assert transport.state == "closed"
    assert direct_route(transport) is None


async def test_sender_reports_carry_the_forwarded_counts(call: Call) -> None:
    bob, sender = await _bob_watching_alice(call)
    receivers = [t.receiver for t in bob._pc.getTransceivers() if t.kind == "video"]

    # aiortc's sender-report loop reads the forwarding sender's own counters; it reports
    # every 0.5-1.5 s.
    reported: list[RTCRemoteOutboundRtpStreamStats] = []
    deadline = asyncio.get_running_loop().time() + 10
    while asyncio.get_running_loop().time() < deadline:
        for receiver in receivers:
            reported += [
                s
                for s in (await receiver.getStats()).values()
                if isinstance(s, RTCRemoteOutboundRtpStreamStats) and s.ssrc == sender.ssrc
            ]
        if reported:
            break
        await asyncio.sleep(0.02)
    assert reported, "bob received no sender report for alice's video"
    assert 0 < reported[0].packetsSent <= sender.packets_forwarded
    assert 0 < reported[0].bytesSent <= sender.octets_forwarded
    [outbound] = [
        s for s in (await sender.getStats()).values() if isinstance(s, RTCOutboundRtpStreamStats)
    ]
    assert outbound.packetsSent == sender.packets_forwarded
