"""WindowedRate answers what aiortc's RateCounter answers, on the same packet arrivals."""

from __future__ import annotations

import random

import pytest
from aiortc.rate import RateCounter

from media.rate_window import WindowedRate


@pytest.mark.parametrize("seed", range(10))
def test_same_rates_as_aiortcs_counter(seed: int) -> None:
    rng = random.Random(seed)
    theirs, ours = RateCounter(1000, 8000), WindowedRate(1000, 8000)
    now = rng.randrange(10**9)
    for step in range(5000):
        # Bursts of packets in one millisecond, frame gaps, and now and then a long silence.
        now += rng.choice((0, 0, 0, 1, 2, 66, 67)) if rng.random() > 0.002 else 1500
        if rng.random() < 0.001:
            theirs.reset()
            ours.reset()
        if rng.random() < 0.3:
            assert ours.rate(now) == theirs.rate(now), step
        size = rng.randint(50, 1200)
        theirs.add(size, now)
        ours.add(size, now)
        assert ours.rate(now) == theirs.rate(now), step
