"""The direct send path (media/direct_send.py) carries forwarded copies on a UDP pair and
keeps the transport's own counters, and steps aside where aiortc's path is needed."""

from __future__ import annotations

from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport, RTCTransportStats

from media.direct_send import send_rtp_now
from media.forwarding import ForwardingSender
from tests.media.media_harness import Call


def _sent(transport: RTCDtlsTransport) -> tuple[int, int]:
    report = transport._get_stats()
    [stats] = [s for s in report.values() if isinstance(s, RTCTransportStats)]
    return stats.packetsSent, stats.bytesSent


async def test_forwarded_copies_take_the_direct_path_and_are_counted(call: Call) -> None:
    await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)
    _, senders = call.room.forwarding_parts("bob")
    sender = next(s for s in senders if isinstance(s, ForwardingSender) and s.kind == "video")
    transport: Any = sender.transport
    slow: list[bytes] = []
    send_rtp = transport._send_rtp

    async def counting(data: bytes) -> None:
        slow.append(data)
        await send_rtp(data)

    transport._send_rtp = counting
    try:
        packets_before, bytes_before = _sent(transport)
        forwarded_before = sender.packets_forwarded
        await bob.wait_for_video_frames(bob.stats.video_frames["1"] + 10, timeout=10)
        packets_after, bytes_after = _sent(transport)
        forwarded = sender.packets_forwarded - forwarded_before
    finally:
        transport._send_rtp = send_rtp
    assert forwarded >= 10
    # Every forwarded copy left by the direct path (aiortc's path saw at most RTCP) and the
    # transport counted each one, as getStats() reports them.
    assert not [d for d in slow if int.from_bytes(d[8:12], "big") == sender._ssrc]
    assert packets_after - packets_before >= forwarded
    assert bytes_after > bytes_before


async def test_a_transport_that_is_not_connected_takes_aiortcs_path(call: Call) -> None:
    await call.join("alice", source_id=1)
    _, senders = call.room.forwarding_parts("alice")
    transport: Any = senders[0].transport
    await transport.stop()
    assert send_rtp_now(transport, b"\x80" + bytes(20)) is False
