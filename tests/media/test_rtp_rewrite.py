"""StreamRewriter: one continuous outgoing stream across publishers, gaps preserved."""

from __future__ import annotations

from media.rtp_rewrite import StreamRewriter

CLOCK = 90_000


def test_first_epoch_starts_at_the_initial_values_and_keeps_offsets() -> None:
    """Within an epoch the mapping is a fixed offset, so upstream gaps stay gaps."""
    rewriter = StreamRewriter(CLOCK, initial_seq=1000, initial_ts=5000)
    rewriter.start(in_seq=40, in_ts=900, ssrc=7, now=0.0)
    assert rewriter.map(40, 900, now=0.0) == (1000, 5000)
    assert rewriter.map(41, 900, now=0.0) == (1001, 5000)
    assert rewriter.map(44, 3900, now=0.033) == (1004, 8000)
    # A late retransmission of 42 fills exactly the hole the subscriber NACKed.
    assert rewriter.map(42, 900, now=0.04) == (1002, 5000)


def test_packets_from_before_the_epoch_are_dropped() -> None:
    """After a keyframe gate opens, stragglers of earlier frames must not reach the subscriber."""
    rewriter = StreamRewriter(CLOCK, initial_seq=0, initial_ts=0)
    rewriter.start(in_seq=500, in_ts=0, ssrc=7, now=0.0)
    assert rewriter.map(499, 0, now=0.0) is None
    assert rewriter.map(500, 0, now=0.0) == (0, 0)


def test_new_source_continues_sequence_and_advances_timestamp_by_wall_clock() -> None:
    """Switching publishers in a slot looks like one stream to the subscriber's decoder."""
    rewriter = StreamRewriter(CLOCK, initial_seq=65534, initial_ts=2**32 - 10)
    rewriter.start(in_seq=10, in_ts=100, ssrc=1, now=1.0)
    assert rewriter.map(10, 100, now=1.0) == (65534, 2**32 - 10)
    assert rewriter.map(11, 100, now=1.0) == (65535, 2**32 - 10)
    rewriter.end_epoch()
    rewriter.start(in_seq=30000, in_ts=777, ssrc=2, now=1.5)
    # Sequence wraps to 0; timestamp moves on by 0.5 s of 90 kHz and wraps too.
    assert rewriter.map(30000, 777, now=1.5) == (0, (2**32 - 10 + 45_000) % 2**32)
    assert rewriter.ssrc == 2


def test_sequence_wraparound_inside_an_epoch_is_not_mistaken_for_old_packets() -> None:
    """A long call crosses the 16-bit boundary many times; forwarding must not stop there."""
    rewriter = StreamRewriter(CLOCK, initial_seq=0, initial_ts=0)
    rewriter.start(in_seq=0, in_ts=0, ssrc=1, now=0.0)
    for step in range(1, 70_000):
        seq = step % 65536
        assert rewriter.map(seq, step, now=step / 1000) == (seq, step)
