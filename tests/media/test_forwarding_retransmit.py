"""A NACK is served with the bytes the forwarding sender sent, wrapped in RTX."""

from __future__ import annotations

from typing import Any

import pytest
from aiortc.rtp import is_rtcp

from media import aiortc_internals
from media.forwarding import ForwardingSender
from tests.media.media_harness import Call, stop_watching_direct_sends, watch_direct_sends

# Fast path only: the server's RTX history of forwarded packets exists on the fast path only (the
# public path's senders are aiortc's own).
pytestmark = pytest.mark.fast_path_only


def _header_length(data: bytes) -> int:
    length = 12 + 4 * (data[0] & 0x0F)
    if data[0] & 0x10:
        length += 4 + 4 * int.from_bytes(data[length + 2 : length + 4], "big")
    return length


async def test_retransmission_repeats_the_forwarded_packet_in_rtx(call: Call) -> None:
    await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await bob.wait_for_video_frames(5, timeout=10)

    _, senders = call.room.forwarding_parts("bob")
    sender: ForwardingSender = next(s for s in senders if s.kind == "video")
    transport: Any = sender.transport
    send_rtp = aiortc_internals.send_rtp_function(transport)
    # Forwarded packets leave by the direct route (media/direct_send.py), retransmissions
    # through aiortc's `_send_rtp`.
    sent = watch_direct_sends(sender)

    async def capture(data: bytes) -> None:
        if not is_rtcp(data):
            sent.append(data)
        await send_rtp(data)

    aiortc_internals.set_send_rtp_function(transport, capture)
    try:
        await bob.wait_for_video_frames(bob.stats.video_frames["1"] + 3, timeout=10)
        original = next(d for d in reversed(sent) if int.from_bytes(d[8:12], "big") == sender.ssrc)
        seq = int.from_bytes(original[2:4], "big")
        sent.clear()
        await sender.retransmit(seq)
        rtx = next(d for d in sent if int.from_bytes(d[8:12], "big") == sender.rtx_ssrc)
        # A sequence number never sent is not retransmitted.
        sent.clear()
        await sender.retransmit((seq + 30000) % 65536)
        assert not [d for d in sent if int.from_bytes(d[8:12], "big") == sender.rtx_ssrc]
    finally:
        aiortc_internals.set_send_rtp_function(transport, send_rtp)
        stop_watching_direct_sends(sender)

    header = _header_length(original)
    assert _header_length(rtx) == header
    assert rtx[0] == original[0]
    assert rtx[1] & 0x80 == original[1] & 0x80  # marker
    assert rtx[1] & 0x7F != original[1] & 0x7F  # RTX payload type
    assert rtx[4:8] == original[4:8]  # timestamp
    assert rtx[12:header] == original[12:header]  # mid, abs-send-time of the original send
    assert rtx[header:] == original[2:4] + original[header:]
