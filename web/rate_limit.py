"""A small in-memory sliding-window limiter for pairing and login attempts."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable


class RateLimiter:
    """At most `limit` events per `window_s` per key, remembered in this process only.

    One process serves a care organisation by default; a scaled-out deployment limits per
    instance, which still bounds guessing of pairing codes to a few attempts per minute.
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        max_keys: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window_s <= 0:
            raise ValueError("limit must be >= 1 and window_s > 0")
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._monotonic = monotonic
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def blocked(self, key: str) -> bool:
        """True when the key has used up its window; records nothing."""
        return len(self._recent(key, self._monotonic())) >= self._limit

    def record(self, key: str) -> None:
        now = self._monotonic()
        events = self._recent(key, now)
        events.append(now)
        self._events[key] = events
        self._events.move_to_end(key)
        # An attacker rotating source addresses must not grow this table without bound;
        # forgetting the stalest keys only ever lets a few more attempts through.
        while len(self._events) > self._max_keys:
            self._events.popitem(last=False)

    def try_acquire(self, key: str) -> bool:
        """Record one event for the key if the window allows it."""
        if self.blocked(key):
            return False
        self.record(key)
        return True

    def retry_after_s(self, key: str) -> int:
        """Whole seconds until the key may try again (0 when it may now)."""
        now = self._monotonic()
        events = self._recent(key, now)
        if len(events) < self._limit:
            return 0
        return max(1, int(events[0] + self._window_s - now + 0.999))

    def _recent(self, key: str, now: float) -> deque[float]:
        events = self._events.get(key)
        if events is None:
            return deque()
        while events and events[0] <= now - self._window_s:
            events.popleft()
        if not events:
            del self._events[key]
        return events
