"""aiortc's receive-rate counter, without a Python loop over every elapsed millisecond.

aiortc's `RemoteBitrateEstimator` (the REMB we send publishers) measures the incoming bitrate
with `aiortc.rate.RateCounter`: a ring of 1,000 one-millisecond buckets that it empties one
bucket per elapsed millisecond, on every packet. At 15 frames a second that is a 66-step loop
for each frame's first packet, the largest part of the estimator's per-packet cost on the
media server. `WindowedRate` keeps the packets of the window in a deque instead and answers
the same `rate()` (tests/unit/media/test_rate_window.py runs both side by side).
"""

from __future__ import annotations

from collections import deque

from aiortc.rate import RateCounter


class WindowedRate(RateCounter):
    """Drop-in for `aiortc.rate.RateCounter(window_size, scale)` with monotonic clocks."""

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        # Not RateCounter.__init__: it would build the 1,000 buckets this class replaces.
        self._window_size = window_size
        self._scale = scale
        self._entries: deque[tuple[int, int]] = deque()
        self._origin_ms: int | None = None
        self._bytes = 0

    def add(self, value: int, now_ms: int) -> None:
        if self._origin_ms is None:
            self._origin_ms = now_ms
        else:
            self._erase_old(now_ms)
        self._entries.append((now_ms, value))
        self._bytes += value

    def rate(self, now_ms: int) -> int | None:
        if self._origin_ms is None:
            return None
        self._erase_old(now_ms)
        active_window_size = now_ms - self._origin_ms + 1
        if self._entries and active_window_size > 1:
            return round(self._scale * self._bytes / active_window_size)
        return None

    def reset(self) -> None:
        self._entries.clear()
        self._origin_ms = None
        self._bytes = 0

    def _erase_old(self, now_ms: int) -> None:
        assert self._origin_ms is not None
        new_origin_ms = now_ms - self._window_size + 1
        if self._origin_ms >= new_origin_ms:
            return
        self._origin_ms = new_origin_ms
        entries = self._entries
        while entries and entries[0][0] < new_origin_ms:
            _, value = entries.popleft()
            self._bytes -= value
