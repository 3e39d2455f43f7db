"""Group-room media controls: partitions (side calls), publish hints with REMB caps, and the
per-subscriber ceiling that pauses and resumes videos on keyframes."""

from __future__ import annotations

import asyncio
import dataclasses

from media.bitrate_policy import BitratePolicy
from media.client_peer import ClientPeer
from media.forwarding import ForwardingSender
from media.vp8 import is_keyframe_start
from tests.media.media_harness import Call, record_video_payloads


async def _three(call: Call) -> tuple[ClientPeer, ClientPeer, ClientPeer]:
    a = await call.join("a", source_id=1)
    b = await call.join("b", source_id=2)
    c = await call.join("c", source_id=3)
    await asyncio.gather(*(p.wait_for_video_frames(5, timeout=15, tracks=2) for p in (a, b, c)))
    return a, b, c


def _frames_from(peer: ClientPeer, source: int) -> int:
    return sum(1 for marks in peer.stats.marks.values() for s, _ in marks if s == source)


async def _wait_frames_from(peer: ClientPeer, source: int, more_than: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while _frames_from(peer, source) <= more_than:
        if loop.time() > deadline:
            raise TimeoutError(f"no new frames of source {source}")
        await asyncio.sleep(0.02)


async def test_groups_partition_the_room_and_heal_without_renegotiation(call: Call) -> None:
    """A side call (a and b apart) cuts c off from both; undoing it brings them back."""
    a, _b, c = await _three(call)
    offers_before = len(call.signal.offers)

    await call.room.set_groups({"a": "side", "b": "side"})
    await asyncio.sleep(0.5)
    seen_by_c = (_frames_from(c, 1), _frames_from(c, 2))
    a_from_b = _frames_from(a, 2)
    await asyncio.sleep(1.0)
    assert (_frames_from(c, 1), _frames_from(c, 2)) == seen_by_c
    assert _frames_from(a, 2) > a_from_b + 10
    assert [p for p, _, _ in call.room.subscriptions("a")] == ["b"]
    assert call.room.subscriptions("c") == []

    await call.room.set_groups({})
    await asyncio.gather(
        _wait_frames_from(c, 1, seen_by_c[0], timeout=5),
        _wait_frames_from(c, 2, seen_by_c[1], timeout=5),
    )
    assert len(call.signal.offers) == offers_before


async def test_publish_hints_follow_the_featured_set_and_cap_remb(call: Call) -> None:
    """The featured publisher is asked for full rate, the others for thumbnails; a new
    spotlight swaps the hints; each video receiver's REMB is capped at its hint."""
    a, b, _c = await _three(call)
    policy = BitratePolicy(everyone_featured_up_to=1)
    call.room.set_bitrate_policy(policy)
    call.room.set_priorities(featured={"a"}, order=["a", "b", "c"])
    assert call.room.publish_hint("a") == policy.featured
    assert call.room.publish_hint("b") == policy.thumbnail
    receivers, _ = call.room.media_parts("b")
    video_in = next(r for r in receivers if r.media_kind == "video")
    # On the public path the cap is bookkeeping only (aiortc's REMB has no public knob).
    assert video_in.remb_cap == policy.thumbnail.max_bitrate
    await call.wait_event("b", "publish_hint")
    assert call.signal.events_for("b", "publish_hint")[-1] == {
        "max_bitrate": 150_000,
        "max_fps": 12,
        "scale_down": 2.0,
    }

    # The headless client follows its hint: smaller, slower frames that still carry marks.
    thumbnail = policy.thumbnail
    b.apply_publish_hint(thumbnail.max_bitrate, thumbnail.max_fps, thumbnail.scale_down)
    before = _frames_from(a, 2)
    await _wait_frames_from(a, 2, before + 10, timeout=5)

    call.room.set_priorities(featured={"b"}, order=["b", "a", "c"])
    assert call.room.publish_hint("b") == policy.featured
    assert call.room.publish_hint("a") == policy.thumbnail
    assert video_in.remb_cap == policy.featured.max_bitrate


async def test_ceiling_pauses_thumbnails_and_resumes_them_on_a_keyframe(call: Call) -> None:
    """Over the subscriber ceiling the non-featured video stops reaching c while the featured
    one continues; with room again it comes back, starting on a keyframe."""
    _a, _b, c = await _three(call)
    tight = BitratePolicy(everyone_featured_up_to=1, subscriber_ceiling_bps=1)
    call.room.set_bitrate_policy(tight)
    call.room.set_priorities(featured={"a"}, order=["a", "b", "c"])
    await call.wait_event("c", "video_paused")
    assert {"publisher_id": "b"} in call.signal.events_for("c", "video_paused")
    assert ("b", True) in [(p, paused) for p, _, paused in call.room.subscriptions("c")]
    await asyncio.sleep(0.3)
    paused_at = _frames_from(c, 2)
    featured_at = _frames_from(c, 1)
    await asyncio.sleep(1.0)
    assert _frames_from(c, 2) <= paused_at + 1  # one frame may have been in flight
    assert _frames_from(c, 1) > featured_at + 10

    if not call.server.settings.fast_path:
        # The public path's sender keeps encoding on its own reference frame: no gate.
        call.room.set_bitrate_policy(dataclasses.replace(tight, subscriber_ceiling_bps=50_000_000))
        await call.wait_event("c", "video_resumed")
        await _wait_frames_from(c, 2, paused_at + 5, timeout=5)
        return

    to_c = record_video_payloads(call, "c")
    _, senders = call.room.forwarding_parts("c")
    from_b = next(
        s for s in senders if isinstance(s, ForwardingSender) and s.kind == "video" and s.paused
    )
    first_resumed: list[bytes] = []
    original = from_b.forward

    def watch(packet, now, ntp_time, abs_send_time):  # type: ignore[no-untyped-def]
        # The fan-out hands a sender only what passed its pause and keyframe gate.
        if not first_resumed:
            first_resumed.append(packet.payload)
        return original(packet, now, ntp_time, abs_send_time)

    from_b.forward = watch  # type: ignore[method-assign]
    call.room.set_bitrate_policy(dataclasses.replace(tight, subscriber_ceiling_bps=50_000_000))
    await call.wait_event("c", "video_resumed")
    await _wait_frames_from(c, 2, paused_at + 5, timeout=5)
    assert first_resumed and is_keyframe_start(first_resumed[0])
    assert to_c  # the recorder saw the stream flowing again
