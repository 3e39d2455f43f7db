"""The publisher-side keyframe request throttle."""

from __future__ import annotations

import asyncio

from media.keyframes import KeyframeRequestThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_requests_inside_the_interval_are_coalesced_and_deferred() -> None:
    """Many subscribers asking at once cost one keyframe; a late asker is served, not dropped."""
    clock = FakeClock()
    sent: list[float] = []

    def send() -> bool:
        sent.append(clock.now)
        return True

    throttle = KeyframeRequestThrottle(send, min_interval=0.05, clock=clock)
    throttle.request()
    throttle.request()
    throttle.request()
    assert sent == [100.0]
    assert throttle.pending
    clock.now += 0.05
    await asyncio.sleep(0.08)
    assert sent == [100.0, 100.05]
    assert not throttle.pending
    throttle.close()


async def test_a_request_that_could_not_be_sent_does_not_hold_back_the_next() -> None:
    """Before the publisher's SSRC is known nothing is sent, and nothing is throttled either."""
    clock = FakeClock()
    can_send = False
    calls = 0

    def send() -> bool:
        nonlocal calls
        calls += 1
        return can_send

    throttle = KeyframeRequestThrottle(send, min_interval=10.0, clock=clock)
    throttle.request()
    can_send = True
    throttle.request()
    assert calls == 2
    assert throttle.sent == 1
    assert not throttle.pending
