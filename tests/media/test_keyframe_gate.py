"""A subscriber that waits for a keyframe starts on a fresh one, never on a late retransmission."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.rtp import RtpPacket

from media import aiortc_internals
from media.forwarding import ForwardingReceiver, ForwardingSender
from media.vp8 import is_keyframe_start
from tests.media.media_harness import Call, out_of_order_runs, record_video_payloads

# Fast path only: the keyframe gate exists on the fast path only (the public path re-encodes, so
# each subscriber's encoder starts on a keyframe).
pytestmark = pytest.mark.fast_path_only


async def _capture_keyframe(receiver: ForwardingReceiver) -> list[RtpPacket]:
    """The packets of the next keyframe the publisher sends (asked for here)."""
    seen: list[RtpPacket] = []
    receiver.add_packet_sink(seen.append)
    try:
        receiver.request_keyframe()
        deadline = time.monotonic() + 10
        while True:
            starts = [i for i, p in enumerate(seen) if is_keyframe_start(p.payload)]
            if starts and any(p.timestamp != seen[starts[0]].timestamp for p in seen[starts[0] :]):
                first = seen[starts[0]]
                return [p for p in seen[starts[0] :] if p.timestamp == first.timestamp]
            assert time.monotonic() < deadline, "no keyframe from the publisher"
            await asyncio.sleep(0.01)
    finally:
        receiver.remove_packet_sink(seen.append)


async def test_a_late_retransmitted_keyframe_does_not_restart_a_waiting_subscriber(
    call: Call,
) -> None:
    """Bob's stream of Alice is paused and resumed (the room's bandwidth budget does that), so
    the server waits for Alice's next keyframe before forwarding to him again.  If a late
    retransmission of an older keyframe arrived first and opened that gate, Bob would decode a
    picture older than the ones he has already shown."""
    await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)
    [alice_video] = [r for r in call.room.forwarding_parts("alice")[0] if r.media_kind == "video"]
    [to_bob] = [s for s in call.room.forwarding_parts("bob")[1] if s.kind == "video"]
    assert isinstance(to_bob, ForwardingSender)

    old_keyframe = await _capture_keyframe(alice_video)
    shown = bob.stats.video_frames["1"]
    await bob.wait_for_video_frames(shown + 10, timeout=10)  # newer pictures are on screen

    sent_to_bob = record_video_payloads(call, "bob")  # from the resume on
    to_bob.set_paused(True)
    to_bob.set_paused(False)
    assert to_bob.awaiting_keyframe
    # The old keyframe again, as the publisher's RTX would deliver it after a NACK; without its
    # send time, which would tell the bandwidth estimator that Alice's path collapsed.
    for packet in old_keyframe:
        packet.extensions.abs_send_time = None
        await aiortc_internals.handle_rtp_packet(alice_video, packet, int(time.time() * 1000))
    shown = bob.stats.video_frames["1"]
    await bob.wait_for_video_frames(shown + 10, timeout=10)

    # Started on the fresh keyframe: starting on the old one would have left Bob a hole
    # (everything Alice sent since) that his jitter buffer waits out for seconds.
    assert is_keyframe_start(sent_to_bob[0])
    restarted_on_old = bool({p.payload for p in old_keyframe} & set(sent_to_bob))
    assert not restarted_on_old, "Bob was restarted on the retransmitted old keyframe"
    assert not out_of_order_runs(bob)
