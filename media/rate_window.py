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

from media.aiortc_internals import RateCounter


class WindowedRate(RateCounter):
    """Drop-in for `aiortc.rate.RateCounter(window_size, scale)` with monotonic clocks."""

    def __init__(self, window_size: int, scale: int = 8000) -> None:
        # Not RateCounter.__init__: it would build the 1,000 buckets this class replaces. Only
        # RateCounter's public methods are replaced; no attribute name is shared with it.
        self._window_ms = window_size
        self._multiplier = scale
        self._arrivals: deque[tuple[int, int]] = deque()
        self._start_ms: int | None = None
        self._sum = 0

    def add(self, value: int, now_ms: int) -> None:
        if self._start_ms is None:
            self._start_ms = now_ms
        else:
            self._drop_before_window(now_ms)
        self._arrivals.append((now_ms, value))
        self._sum += value

    def rate(self, now_ms: int) -> int | None:
        if self._start_ms is None:
            return None
        self._drop_before_window(now_ms)
        active_window_size = now_ms - self._start_ms + 1
        if self._arrivals and active_window_size > 1:
            return round(self._multiplier * self._sum / active_window_size)
        return None

    def reset(self) -> None:
        self._arrivals.clear()
        self._start_ms = None
        self._sum = 0

    def _drop_before_window(self, now_ms: int) -> None:
        assert self._start_ms is not None
        new_origin_ms = now_ms - self._window_ms + 1
        if self._start_ms >= new_origin_ms:
            return
        self._start_ms = new_origin_ms
        entries = self._arrivals
        while entries and entries[0][0] < new_origin_ms:
            _, value = entries.popleft()
            self._sum -= value
