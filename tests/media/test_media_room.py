"""Room lifecycle: bad offers, leaving, rejoining, remote close; the room keeps serving."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from aiortc import RTCPeerConnection, RTCRtpSender

from media import InvalidSdp, NegotiationError, UnknownParticipant
from media.client_peer import ClientPeer
from media.ice import to_rtc_configuration
from media.vp8 import is_keyframe_start
from tests.media.media_harness import Call, record_video_payloads, wait_for_source


async def _h264_only_offer() -> str:
    pc = RTCPeerConnection(to_rtc_configuration([]))
    try:
        pc.addTransceiver("audio", direction="sendrecv")
        video = pc.addTransceiver("video", direction="sendrecv")
        video.setCodecPreferences(
            [c for c in RTCRtpSender.getCapabilities("video").codecs if c.name == "H264"]
        )
        await pc.setLocalDescription(await pc.createOffer())
        return str(pc.localDescription.sdp)
    finally:
        await pc.close()


async def _valid_offer() -> str:
    peer = ClientPeer(video=None, audio=False)
    try:
        offer: str = await peer.create_offer()
        return offer
    finally:
        await peer.close()


def _segments(marks: list[tuple[int, int]]) -> list[int]:
    """Source ids in the order they appear, consecutive duplicates collapsed."""
    return [source for source, _ in itertools.groupby(source for source, _ in marks)]


async def test_invalid_offers_raise_invalid_sdp_and_room_keeps_serving(call: Call) -> None:
    """(d): garbage, empty, codec-less and truncated offers are refused without side effects."""
    valid = await _valid_offer()
    no_ice = "\r\n".join(line for line in valid.split("\r\n") if not line.startswith("a=ice-ufrag"))
    bad_offers = [
        "hello",
        "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
        await _h264_only_offer(),
        no_ice,
        valid[: len(valid) // 3],
    ]
    for offer in bad_offers:
        with pytest.raises(InvalidSdp):
            await call.room.connect("mallory", offer)
    assert call.room.participants == []

    alice = await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await asyncio.gather(
        alice.wait_for_video_frames(10, timeout=10), bob.wait_for_video_frames(10, timeout=10)
    )
    assert alice.stats.sources("1") == {2}


async def test_bad_offer_from_a_connected_participant_keeps_its_call(call: Call) -> None:
    """A garbled re-offer is refused; the participant's existing connection keeps flowing."""
    alice = await call.join("alice", source_id=1)
    await call.join("bob", source_id=2)
    await alice.wait_for_video_frames(5, timeout=10)
    with pytest.raises(InvalidSdp):
        await call.room.connect("alice", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n")
    assert call.room.participants == ["alice", "bob"]
    await alice.wait_for_video_frames(alice.stats.video_frames["1"] + 10, timeout=5)


async def test_unknown_participant_and_unsolicited_answer_are_errors(call: Call) -> None:
    """Operations on someone not in the room, or an answer nobody asked for, raise MediaErrors."""
    with pytest.raises(UnknownParticipant):
        await call.room.disconnect("nobody")
    with pytest.raises(UnknownParticipant):
        call.room.set_audio_forwarding("nobody", False)
    await call.join("alice", source_id=1)
    with pytest.raises(NegotiationError):
        await call.room.accept_answer("alice", "v=0\r\n")


async def test_disconnect_leaves_room_usable_and_a_newcomer_takes_the_slot(call: Call) -> None:
    """(e): after bob leaves, carol joins; alice switches to carol's video without renegotiation."""
    alice = await call.join("alice", source_id=1)
    await call.join("bob", source_id=2)
    await alice.wait_for_video_frames(10, timeout=10)

    await call.room.disconnect("bob")
    assert call.room.participants == ["alice"]
    await call.wait_event("bob", "closed")
    assert call.signal.events_for("bob", "closed") == [{"reason": "disconnected"}]
    await call.wait_event("alice", "track_removed")
    with pytest.raises(UnknownParticipant):
        await call.room.disconnect("bob")

    # The fast path forwards the publishers' own packets: watch what it sends. (The public
    # path re-encodes per subscriber, so its encoders decide where keyframes go.)
    fast = call.server.settings.fast_path
    to_alice = record_video_payloads(call, "alice") if fast else []
    frames_before = alice.stats.video_frames["1"]
    carol = await call.join("carol", source_id=3)
    to_carol = record_video_payloads(call, "carol") if fast else []
    # Alice has streamed for a while, so carol needs a fresh keyframe from her, and alice
    # needs one from carol's new stream: both come from the PLI sent when the gate closes.
    alice_sees_carol, carol_sees_alice = await asyncio.gather(
        wait_for_source(alice, "1", 3, timeout=5), wait_for_source(carol, "1", 1, timeout=5)
    )
    assert alice_sees_carol < 1.0 and carol_sees_alice < 1.0
    await carol.wait_for_video_frames(10, timeout=10)
    await alice.wait_for_video_frames(frames_before + 10, timeout=10)
    # Each subscriber's stream from a new publisher starts with a keyframe, never mid-GOP.
    if fast:
        assert is_keyframe_start(to_alice[0]) and is_keyframe_start(to_carol[0])

    # Same transceiver, new publisher: bob's frames, then carol's, never mixed back.
    assert _segments(list(alice.stats.marks["1"])) == [2, 3]
    carol_marks = [mark for mark in alice.stats.marks["1"] if mark[0] == 3]
    assert [c for _, c in carol_marks] == sorted({c for _, c in carol_marks})
    assert carol.stats.sources("1") == {1}
    assert call.signal.offers == []


async def test_remote_close_is_detected_and_reported(call: Call) -> None:
    """A participant closing its own connection is removed and reported as closed."""
    alice = await call.join("alice", source_id=1)
    bob = await call.join("bob", source_id=2)
    await alice.wait_for_video_frames(5, timeout=10)

    await bob.close()
    await call.wait_event("bob", "closed")
    assert call.signal.events_for("bob", "closed") == [{"reason": "remote_closed"}]
    assert call.room.participants == ["alice"]
    assert call.signal.events_for("alice", "track_removed")


async def test_reconnecting_participant_replaces_its_old_connection(call: Call) -> None:
    """A participant that connects again (new tablet session) gets a fresh, working connection."""
    alice = await call.join("alice", source_id=1)
    await call.join("bob", source_id=2)
    await alice.wait_for_video_frames(5, timeout=10)

    old_bob = call.signal.peers["bob"]
    new_bob = await call.join("bob", source_id=4)
    await old_bob.close()
    await new_bob.wait_for_video_frames(10, timeout=10)
    await call.wait_event("bob", "closed")
    assert call.signal.events_for("bob", "closed")[0] == {"reason": "replaced"}
    assert call.room.participants == ["alice", "bob"]
    await alice.wait_for_video_frames(alice.stats.video_frames["1"] + 10, timeout=10)
    assert _segments(list(alice.stats.marks["1"]))[-1] == 4
