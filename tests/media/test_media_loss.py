"""Packet loss on either leg is repaired by NACK/RTX through the forwarding path."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest
from aiortc.rtp import RtpPacket, is_rtcp

from media import aiortc_internals
from media.forwarding import ForwardingReceiver, ForwardingSender
from tests.media.media_harness import Call, stop_watching_direct_sends, watch_direct_sends

# Fast path only: they watch the fast path's direct sends and its NACK handling of forwarded
# packets.
pytestmark = pytest.mark.fast_path_only

DROP_EVERY = 15


def _video_parts(call: Call, participant: str) -> tuple[ForwardingReceiver, ForwardingSender]:
    receivers, senders = call.room.forwarding_parts(participant)
    receiver = next(r for r in receivers if r.media_kind == "video")
    sender = next(s for s in senders if s.kind == "video")
    return receiver, sender


def _discontinuities(counters: list[int]) -> int:
    """Adjacent frames whose counters do not follow each other (lost, repeated or garbled)."""
    return sum(1 for a, b in itertools.pairwise(counters) if b != a + 1)


async def test_upstream_loss_is_nacked_and_the_retransmission_fills_the_hole(call: Call) -> None:
    """Packets lost between publisher and server are recovered, so the subscriber sees no gap."""
    alice = await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)

    receiver, _ = _video_parts(call, "alice")
    handle = receiver.handle_rtp
    dropped: set[int] = set()
    media_ssrc = receiver.media_ssrc

    def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
        # Retransmissions arrive on the RTX SSRC and are never dropped.
        seq = packet.sequence_number
        if packet.ssrc == media_ssrc and seq % DROP_EVERY == 0 and seq not in dropped:
            dropped.add(seq)
            return
        handle(packet, arrival_time_ms)

    receiver.handle_rtp = lossy  # type: ignore[method-assign]
    start = len(bob.stats.marks["1"])
    await bob.wait_for_video_frames(bob.stats.video_frames["1"] + 45, timeout=10)
    receiver.handle_rtp = handle  # type: ignore[method-assign]

    counters = [c for _, c in list(bob.stats.marks["1"])[start:]]
    assert len(dropped) >= 5
    # Frames a decoder mangled fail the marks' check word, so they show up as missing here.
    assert len(counters) >= 40, counters
    assert _discontinuities(counters) <= 1, counters
    assert alice.stats.audio_frames > 0


async def test_downstream_loss_is_served_from_the_forwarding_senders_history(
    call: Call,
) -> None:
    """Packets lost between server and subscriber are retransmitted by the server itself."""
    await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)

    _, sender = _video_parts(call, "bob")
    transport: Any = sender.transport
    send_rtp = aiortc_internals.send_rtp_function(transport)
    dropped: set[int] = set()
    retransmitted: list[int] = []

    def lose(data: bytes) -> bool:
        if not is_rtcp(data) and int.from_bytes(data[8:12], "big") == sender.ssrc:
            seq = int.from_bytes(data[2:4], "big")
            if seq % DROP_EVERY == 0 and seq not in dropped:
                dropped.add(seq)
                return True
        return False

    async def lossy_send(data: bytes) -> None:
        if not lose(data):
            await send_rtp(data)

    # Forwarded copies leave by the direct route (media/direct_send.py): lose them at its socket.
    watch_direct_sends(sender, lose)

    # Called once per NACKed sequence number the subscriber asks for.
    packet_for = sender.packet_for_retransmission

    def counting_retransmit(sequence_number: int) -> RtpPacket | None:
        retransmitted.append(sequence_number)
        return packet_for(sequence_number)

    aiortc_internals.set_send_rtp_function(transport, lossy_send)
    sender.packet_for_retransmission = counting_retransmit  # type: ignore[method-assign]
    start = len(bob.stats.marks["1"])
    await bob.wait_for_video_frames(bob.stats.video_frames["1"] + 45, timeout=10)
    aiortc_internals.set_send_rtp_function(transport, send_rtp)
    stop_watching_direct_sends(sender)
    # The last drops are NACKed once the next packets arrive: give them a round trip.
    await asyncio.sleep(0.3)

    counters = [c for _, c in list(bob.stats.marks["1"])[start:]]
    assert len(dropped) >= 5
    assert dropped <= set(retransmitted)
    # Frames a decoder mangled fail the marks' check word, so they show up as missing here.
    assert len(counters) >= 40, counters
    assert _discontinuities(counters) <= 1, counters
