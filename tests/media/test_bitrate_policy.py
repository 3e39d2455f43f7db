"""The tablet-protection rules as pure functions: hints per publisher, pauses per subscriber."""

from __future__ import annotations

from media.bitrate_policy import BitratePolicy, RateMeter, StreamState, plan_pauses

POLICY = BitratePolicy()


def _stream(
    pid: str, bps: float, *, featured: bool = False, rank: int = 0, paused: bool = False
) -> StreamState:
    return StreamState(pid, bps, featured, rank, paused)


def test_featured_publishers_get_full_rate_others_thumbnails() -> None:
    featured = {"host", "spot"}
    assert POLICY.hint_for("host", featured, 13) == POLICY.featured
    assert POLICY.hint_for("aino", featured, 13) == POLICY.thumbnail
    # Two people (host and one home) is a call: nobody is a thumbnail.
    assert POLICY.hint_for("aino", featured, 2) == POLICY.featured
    nominal = 2 * POLICY.featured.max_bitrate + 11 * POLICY.thumbnail.max_bitrate
    assert nominal <= POLICY.subscriber_ceiling_bps


def test_over_the_ceiling_the_least_important_thumbnails_pause_first() -> None:
    streams = [
        _stream("host", 700_000, featured=True),
        _stream("a", 400_000, rank=1),
        _stream("b", 400_000, rank=2),
        _stream("c", 400_000, rank=3),
    ]
    decision = plan_pauses(streams, ceiling_bps=1_200_000, resume_margin=0.8)
    assert decision.pause == ("c", "b") and decision.resume == ()


def test_featured_streams_are_never_paused() -> None:
    streams = [_stream("host", 5_000_000, featured=True), _stream("a", 100_000, rank=1)]
    decision = plan_pauses(streams, ceiling_bps=1_000_000, resume_margin=0.8)
    assert decision.pause == ("a",)


def test_resume_waits_for_room_below_the_margin_one_at_a_time() -> None:
    streams = [
        _stream("host", 600_000, featured=True),
        _stream("a", 300_000, rank=1, paused=True),
        _stream("b", 100_000, rank=2, paused=True),
    ]
    assert plan_pauses(streams, ceiling_bps=1_000_000, resume_margin=0.8).resume == ()
    assert plan_pauses(streams, ceiling_bps=1_200_000, resume_margin=0.8).resume == ("a",)
    # The cheap stream b does not jump the queue while a (more important) still waits.
    assert plan_pauses(streams, ceiling_bps=1_000_000, resume_margin=0.8).pause == ()


def test_rate_meter_smooths_a_byte_counter() -> None:
    meter = RateMeter()
    meter.update(0, 0.0)
    assert meter.update(125_000, 1.0) == 1_000_000
    assert meter.update(250_000, 2.0) == 1_000_000
    assert meter.update(250_000, 3.0) == 500_000
