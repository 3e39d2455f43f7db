"""Call quality per participant, sampled from what the media server already keeps.

Upstream (what a participant sends us): loss and jitter from the receiver's RTCP statistics
(the same ones aiortc turns into receiver reports), bitrate from its byte counter, frame rate
and freezes from a `FrameRateMeter` packet sink (a frame is a new RTP timestamp; a freeze is a
gap of more than `FREEZE_GAP_S` between frames). Downstream (what we send them): round-trip
time and loss from the receiver reports they send about our senders (aiortc's
`remote-inbound-rtp` statistics). Nothing here decodes anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from media.aiortc_internals import RtpPacket
from media.parts import Publisher, Subscriber

FREEZE_GAP_S = 0.6
VIDEO_CLOCK_HZ = 90_000
AUDIO_CLOCK_HZ = 48_000

Level = Literal["good", "fair", "poor"]


@dataclass(frozen=True)
class QualityLimits:
    """Where "good" ends and "poor" begins; the worst measure decides."""

    fair_loss_pct: float = 2.0
    poor_loss_pct: float = 8.0
    fair_rtt_ms: float = 250.0
    poor_rtt_ms: float = 500.0
    fair_fps: float = 10.0
    poor_fps: float = 5.0


@dataclass(frozen=True)
class QualitySample:
    """One participant over one sampling interval."""

    loss_pct: float  # the worse of upstream and downstream video loss
    jitter_ms: float
    rtt_ms: float | None
    bitrate_kbps: float  # upstream, audio + video
    forwarded_kbps: float  # what the server sent this participant
    fps: float
    freezes: int
    level: Level


def grade(
    loss_pct: float, rtt_ms: float | None, fps: float, freezes: int, limits: QualityLimits
) -> Level:
    if (
        loss_pct >= limits.poor_loss_pct
        or (rtt_ms is not None and rtt_ms >= limits.poor_rtt_ms)
        or fps < limits.poor_fps
        or freezes > 0
    ):
        return "poor"
    if (
        loss_pct >= limits.fair_loss_pct
        or (rtt_ms is not None and rtt_ms >= limits.fair_rtt_ms)
        or fps < limits.fair_fps
    ):
        return "fair"
    return "good"


class FrameRateMeter:
    """Packet sink on a video receiver: frames (new timestamps) and freezes, cheaply."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last_ts: int | None = None
        self._last_frame_at: float | None = None
        self.frames = 0
        self.freezes = 0
        self.longest_gap_s = 0.0

    def __call__(self, packet: RtpPacket) -> None:
        if packet.timestamp == self._last_ts:
            return
        if self._last_ts is not None and (packet.timestamp - self._last_ts) % (1 << 32) > 1 << 31:
            return  # an older frame's retransmission
        now = self._clock()
        if self._last_frame_at is not None:
            gap = now - self._last_frame_at
            if gap > FREEZE_GAP_S:
                self.freezes += 1
            self.longest_gap_s = max(self.longest_gap_s, gap)
        self._last_ts = packet.timestamp
        self._last_frame_at = now
        self.frames += 1

    def silent_for(self, now: float) -> float:
        return 0.0 if self._last_frame_at is None else now - self._last_frame_at


@dataclass
class _Counters:
    at: float
    frames: int
    freezes: int
    bytes_in: int
    bytes_out: int
    expected: int
    received: int


class ParticipantQuality:
    """Samples one participant: attach to its receivers and to the senders towards it."""

    def __init__(
        self,
        limits: QualityLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits or QualityLimits()
        self._clock = clock
        self.meter = FrameRateMeter(clock)
        self._video_in: Publisher | None = None
        self._receivers: tuple[Publisher, ...] = ()
        self._previous: _Counters | None = None

    def attach(self, receivers: Sequence[Publisher]) -> None:
        """Follow these receivers (a reconnect brings new ones); idempotent."""
        receivers = tuple(receivers)
        if receivers == self._receivers:
            return
        self.detach()
        self._receivers = receivers
        self._video_in = next((r for r in receivers if r.media_kind == "video"), None)
        if self._video_in is not None:
            self._video_in.add_packet_sink(self.meter)
        self._previous = None

    def detach(self) -> None:
        if self._video_in is not None:
            self._video_in.remove_packet_sink(self.meter)
        self._video_in = None
        self._receivers = ()

    async def sample(self, senders: Sequence[Subscriber]) -> QualitySample | None:
        """The interval since the previous call; None on the first call (no interval yet)."""
        now = self._clock()
        video = self._video_in
        expected, received = video.loss_counters() if video is not None else (0, 0)
        counters = _Counters(
            at=now,
            frames=self.meter.frames,
            freezes=self.meter.freezes,
            bytes_in=sum(r.bytes_received for r in self._receivers),
            bytes_out=sum(_octets(s) for s in senders),
            expected=expected,
            received=received,
        )
        previous, self._previous = self._previous, counters
        if previous is None or counters.at <= previous.at:
            return None
        span = counters.at - previous.at
        expected_delta = counters.expected - previous.expected
        lost = max(0, expected_delta - (counters.received - previous.received))
        up_loss = 100.0 * lost / expected_delta if expected_delta > 0 else 0.0
        rtt_ms, down_loss = await _downstream(senders)
        frames = counters.frames - previous.frames
        # A picture that stopped arriving is a freeze even before the next frame shows it.
        freezes = counters.freezes - previous.freezes
        if video is not None and self.meter.silent_for(now) > FREEZE_GAP_S and frames == 0:
            freezes = max(freezes, 1)
        fps = frames / span
        loss = max(up_loss, down_loss)
        return QualitySample(
            loss_pct=round(loss, 2),
            jitter_ms=round(_jitter_ms(video), 1),
            rtt_ms=None if rtt_ms is None else round(rtt_ms, 1),
            bitrate_kbps=round(8 * (counters.bytes_in - previous.bytes_in) / span / 1000, 1),
            forwarded_kbps=round(8 * (counters.bytes_out - previous.bytes_out) / span / 1000, 1),
            fps=round(fps, 1),
            freezes=freezes,
            level=grade(loss, rtt_ms, fps, freezes, self._limits),
        )


def _octets(sender: Subscriber) -> int:
    return sender.octets_forwarded


def _jitter_ms(receiver: Publisher | None) -> float:
    return 0.0 if receiver is None else 1000.0 * receiver.jitter_seconds()


async def _downstream(senders: Sequence[Subscriber]) -> tuple[float | None, float]:
    """(round-trip ms, loss %) from the receiver reports about our video senders."""
    rtts: list[float] = []
    loss = 0.0
    for sender in senders:
        if sender.kind != "video" or not sender.started:
            continue
        for stats in (await sender.getStats()).values():
            if getattr(stats, "type", None) != "remote-inbound-rtp":
                continue
            rtt = getattr(stats, "roundTripTime", None)
            if rtt is not None:
                rtts.append(1000.0 * float(rtt))
            loss = max(loss, 100.0 * float(getattr(stats, "fractionLost", 0) or 0) / 256)
    return (max(rtts) if rtts else None), loss
