"""Throttle for keyframe requests sent upstream to a publisher."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

# Each keyframe costs the publisher's uplink several ordinary frames; one request per 300 ms
# serves every subscriber that joins or loses a picture within that window.
DEFAULT_MIN_INTERVAL = 0.3


class KeyframeRequestThrottle:
    """Sends at most one request per interval; a request inside the interval is deferred, not lost.

    `send` performs the request and returns whether it could.

    Dropping it instead would strand a subscriber that joined just after the previous keyframe:
    the publisher would not send another for seconds (aiortc's VP8 encoder: every 3,000 frames).
    """

    def __init__(
        self,
        send: Callable[[], bool],
        min_interval: float = DEFAULT_MIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._min_interval = min_interval
        self._clock = clock
        self._last_sent: float | None = None
        self._deferred: asyncio.TimerHandle | None = None
        self.sent = 0

    @property
    def pending(self) -> bool:
        return self._deferred is not None

    def request(self) -> None:
        """Ask for a keyframe now, or as soon as the interval allows."""
        if self._deferred is not None:
            return
        now = self._clock()
        if self._last_sent is None or now - self._last_sent >= self._min_interval:
            self._fire()
            return
        delay = self._min_interval - (now - self._last_sent)
        self._deferred = asyncio.get_running_loop().call_later(delay, self._fire_deferred)

    def close(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None

    def _fire_deferred(self) -> None:
        self._deferred = None
        self._fire()

    def _fire(self) -> None:
        # `send` returns False when it could not send (publisher's SSRC not known yet); such
        # a non-request must not hold back the next one.
        if self._send():
            self._last_sent = self._clock()
            self.sent += 1
