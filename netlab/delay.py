"""When each packet leaves the router: base delay plus jitter, in order unless asked otherwise.

Jitter on real access links is correlated in time (4G scheduling, HARQ retransmissions and
buffer occupancy change over tens of milliseconds) and the link layer delivers in order (LTE's
RLC does; so do DSL and fibre). So the extra delay follows a smooth random path: independent
targets every `SEGMENT_S`, joined by straight lines, and a packet never overtakes the one before
it (it waits behind a slower one, as on the air interface). Per-packet independent jitter, which
reorders at any rate worth simulating, is kept for profiles that ask for reordering.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

SEGMENT_S = 0.05
# Straight lines between independent points have 2/3 of the points' variance; scale it back.
_LINE_VARIANCE_FIX = math.sqrt(1.5)


@dataclass(frozen=True)
class DirectionSpec:
    """What the router does to one direction: one-way delay, its jitter, reordering."""

    delay_s: float
    jitter_s: float
    reorder: bool = False


class DelayLine:
    """Delivery times for one direction of a link."""

    def __init__(self, spec: DirectionSpec, rng: random.Random | None = None) -> None:
        self._rng = rng or random.Random()
        self._last_delivery = 0.0
        self._segment_start = -math.inf
        self._from = 0.0
        self._to = 0.0
        self.spec = spec

    def set_spec(self, spec: DirectionSpec) -> None:
        """Change the delay from the next packet on (queued packets keep theirs)."""
        self.spec = spec
        self._segment_start = -math.inf

    def deliver_at(self, now: float) -> float:
        """The time a packet arriving at `now` leaves the router."""
        spec = self.spec
        if spec.jitter_s <= 0:
            extra = 0.0
        elif spec.reorder:
            extra = self._rng.gauss(0.0, spec.jitter_s)
        else:
            extra = self._smooth(now, spec.jitter_s)
        at = now + max(0.0, spec.delay_s + extra)
        if not spec.reorder:
            at = max(at, self._last_delivery)
        self._last_delivery = max(self._last_delivery, at)
        return at

    def _smooth(self, now: float, sigma: float) -> float:
        elapsed = now - self._segment_start
        if elapsed >= SEGMENT_S:
            if elapsed >= 2 * SEGMENT_S:
                # Idle for a while: start a fresh path rather than replaying stale segments.
                self._from = self._draw(sigma)
                self._segment_start = now
            else:
                self._from = self._to
                self._segment_start += SEGMENT_S
            self._to = self._draw(sigma)
            elapsed = now - self._segment_start
        share = elapsed / SEGMENT_S
        return self._from + (self._to - self._from) * share

    def _draw(self, sigma: float) -> float:
        return self._rng.gauss(0.0, sigma * _LINE_VARIANCE_FIX)
