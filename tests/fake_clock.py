"""A controllable clock for the care workflows' tests (care_sessions.clock.Clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FakeClock:
    """Wall time that moves only when a test says so; monotonic time moves with it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("use an aware start time")
        self._now = start.astimezone(UTC)
        self._monotonic = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        self._monotonic += delta.total_seconds()
        return self._now

    def set(self, moment: datetime) -> None:
        delta = moment.astimezone(UTC) - self._now
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self.advance(delta)
