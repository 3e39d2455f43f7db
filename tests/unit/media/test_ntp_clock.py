"""media.ntp_clock reads the same clock as aiortc.clock, in the same units."""

from __future__ import annotations

from aiortc import clock

from media import ntp_clock


def test_milliseconds_since_the_ntp_epoch_match_aiortcs() -> None:
    before = clock.current_ms()
    ours = ntp_clock.current_ms()
    after = clock.current_ms()
    assert before <= ours <= after


def test_ntp_timestamps_match_aiortcs() -> None:
    before = clock.current_ntp_time()
    ours = ntp_clock.current_ntp_time()
    after = clock.current_ntp_time()
    # aiortc's fraction has microsecond resolution: allow for its truncation.
    assert before - (1 << 32) // 1_000_000 <= ours <= after + (1 << 32) // 1_000_000
    assert ours >> 32 == after >> 32 or ours >> 32 == before >> 32
