"""The per-connection token bucket."""

from __future__ import annotations

from signaling.rate_limit import TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_steady_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=20, burst=50, clock=clock)
    assert all(bucket.allow() for _ in range(50))
    assert not bucket.allow()
    clock.now = 0.5  # half a second refills ten
    assert sum(bucket.allow() for _ in range(20)) == 10
    clock.now = 100.0  # never more than the burst
    assert sum(bucket.allow() for _ in range(200)) == 50
