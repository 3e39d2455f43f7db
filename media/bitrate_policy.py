"""Protecting subscribers in group rooms: who publishes at which rate, and what to pause.

Pure rules, no aiortc: `room_budget.RoomBudget` applies them to a live room.

Without simulcast every publisher sends one encoding that all subscribers share, so the
policy works at two places:

1. At the publisher (`PublishHint`): featured publishers (the host, the spotlit person, an
   exercise leader) send full rate; everyone else sends a thumbnail-sized, lower frame rate
   stream. The server asks for it with a signaling hint (the client scales its encoder) and
   enforces the bitrate with REMB capped at the hint (aiortc and browsers obey REMB).
2. At the subscriber (`plan_pauses`): the sum of video bitrates forwarded to one subscriber
   stays under a ceiling; over it, the lowest-priority videos are paused (featured ones
   never), and resumed on a keyframe once there is room again, with hysteresis so a stream
   does not flap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PublishHint:
    """What the server asks one publisher to send."""

    max_bitrate: int  # bits per second
    max_fps: int
    scale_down: float  # 1.0 = camera resolution, 2.0 = half width and height


@dataclass(frozen=True)
class BitratePolicy:
    """Figures for a group room; docs/media.md explains the choice."""

    # 640x480 VP8 looks good at ~600-700 kbps; the host and the large tile need that.
    featured: PublishHint = PublishHint(max_bitrate=700_000, max_fps=24, scale_down=1.0)
    # A tablet tile is ~300 px wide: a quarter of the pixels at half the frame rate.
    thumbnail: PublishHint = PublishHint(max_bitrate=150_000, max_fps=12, scale_down=2.0)
    # 2 featured + 11 thumbnails = 3.05 Mbps nominal; a 12-home room fits on ~4 Mbps
    # home broadband, and a misbehaving publisher (a browser ignoring the hint) cannot
    # push a tablet past this.
    subscriber_ceiling_bps: int = 3_500_000
    # Resume a paused stream only when the total would stay under this share of the
    # ceiling; a stream paused at 100 % must not come back at 99 %.
    resume_margin: float = 0.8
    # Rooms this small (a 1:1 call inside a room, host + one home) need no thumbnails.
    everyone_featured_up_to: int = 2

    def hint_for(self, publisher_id: str, featured: set[str], publishers: int) -> PublishHint:
        if publishers <= self.everyone_featured_up_to or publisher_id in featured:
            return self.featured
        return self.thumbnail


@dataclass(frozen=True)
class StreamState:
    """One video stream as one subscriber receives it."""

    publisher_id: str
    bitrate_bps: float  # what the publisher currently sends
    featured: bool
    rank: int  # lower is more important (after featured)
    paused: bool


@dataclass(frozen=True)
class PauseDecision:
    pause: tuple[str, ...] = ()
    resume: tuple[str, ...] = ()


def plan_pauses(
    streams: Sequence[StreamState], ceiling_bps: float, resume_margin: float
) -> PauseDecision:
    """Which of one subscriber's videos to pause or resume now to keep it under the ceiling.

    Featured streams are never paused: they are the reason the subscriber is in the room.
    Several streams may be paused at once (the total must come down now); at most one is
    resumed per decision, because each resumption costs a keyframe burst.
    """
    # Least important last: non-featured after featured, then by rank.
    order = sorted(streams, key=lambda s: (not s.featured, s.rank, s.publisher_id))
    total = sum(s.bitrate_bps for s in order if not s.paused)
    if total > ceiling_bps:
        pause = []
        for stream in reversed(order):
            if total <= ceiling_bps:
                break
            if stream.paused or stream.featured:
                continue
            pause.append(stream.publisher_id)
            total -= stream.bitrate_bps
        return PauseDecision(pause=tuple(pause))
    for stream in order:
        if stream.paused:
            if total + stream.bitrate_bps <= ceiling_bps * resume_margin:
                return PauseDecision(resume=(stream.publisher_id,))
            # Resume in priority order only: a cheap low-priority stream must not jump
            # ahead of an important one waiting for room.
            break
    return PauseDecision()


class RateMeter:
    """Bits per second from a growing byte counter, smoothed over a few samples."""

    def __init__(self, smoothing: float = 0.5) -> None:
        self._smoothing = smoothing
        self._last_bytes: int | None = None
        self._last_time = 0.0
        self.bps = 0.0

    def update(self, total_bytes: int, now: float) -> float:
        if self._last_bytes is not None and now > self._last_time:
            sample = (total_bytes - self._last_bytes) * 8 / (now - self._last_time)
            if self.bps == 0.0:
                self.bps = sample
            else:
                self.bps = self._smoothing * self.bps + (1 - self._smoothing) * sample
        self._last_bytes = total_bytes
        self._last_time = now
        return self.bps
