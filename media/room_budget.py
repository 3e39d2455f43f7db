"""Applying a BitratePolicy to a live room: publish hints, REMB caps, pauses, statistics."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

from media.bitrate_policy import (
    BitratePolicy,
    PublishHint,
    RateMeter,
    StreamState,
    plan_pauses,
)
from media.events import MediaEvent, VideoPaused, VideoResumed
from media.events import PublishHint as PublishHintEvent
from media.parts import Publisher, Subscriber

logger = logging.getLogger(__name__)

# How often the budget looks at rates: a pause lands within a second of an overload, and
# the meters see enough packets per sample to be steady.
TICK_INTERVAL = 0.5

Emit = Callable[[str, MediaEvent], None]


@dataclass(frozen=True)
class PublisherStats:
    """How one participant's media reaches the server (the host console's quality dot)."""

    participant_id: str
    connected: bool
    video_bps: float
    audio_bps: float
    loss: float  # share of the publisher's video packets lost upstream, last interval
    packets_received: int


@dataclass(frozen=True)
class PublisherInputs:
    """What the budget reads of one publisher at a tick."""

    connected: bool
    audio_in: Publisher | None
    video_in: Publisher | None


class RoomBudget:
    """The per-room state of the policy; MediaRoom calls it with its current participants."""

    def __init__(self, policy: BitratePolicy, emit: Emit) -> None:
        self.policy = policy
        self._emit = emit
        self._featured: set[str] = set()
        self._ranks: dict[str, int] = {}
        self._hints: dict[str, PublishHint] = {}
        self._meters: dict[Publisher, RateMeter] = {}
        self._loss_prior: dict[Publisher, tuple[int, int]] = {}
        self.stats: dict[str, PublisherStats] = {}

    def set_priorities(self, featured: Collection[str], order: Sequence[str]) -> None:
        """Featured publishers send full rate and are never paused; `order` ranks the rest."""
        self._featured = set(featured)
        self._ranks = {pid: rank for rank, pid in enumerate(order)}

    def hint(self, participant_id: str) -> PublishHint | None:
        return self._hints.get(participant_id)

    def forget(self, participant_id: str) -> None:
        """A participant left or reconnected: its next hint is news to its client."""
        self._hints.pop(participant_id, None)
        self.stats.pop(participant_id, None)

    def update_hints(self, publishers: Mapping[str, PublisherInputs]) -> None:
        """Recompute every publisher's hint; tell those whose hint changed; cap their REMB."""
        count = sum(1 for p in publishers.values() if p.video_in is not None)
        for pid, inputs in publishers.items():
            if inputs.video_in is None:
                continue
            hint = self.policy.hint_for(pid, self._featured, count)
            inputs.video_in.set_remb_cap(hint.max_bitrate)
            if self._hints.get(pid) != hint:
                self._hints[pid] = hint
                self._emit(
                    pid,
                    PublishHintEvent(
                        event="publish_hint",
                        max_bitrate=hint.max_bitrate,
                        max_fps=hint.max_fps,
                        scale_down=hint.scale_down,
                    ),
                )
        for gone in set(self._hints) - set(publishers):
            self.forget(gone)

    def tick(
        self,
        now: float,
        publishers: Mapping[str, PublisherInputs],
        subscriptions: Mapping[str, Sequence[tuple[str, Subscriber]]],
    ) -> None:
        """Measure every publisher, then keep every subscriber under the ceiling."""
        rates: dict[str, float] = {}
        live: set[Publisher] = set()
        for pid, inputs in publishers.items():
            video = self._measure(inputs.video_in, now)
            audio = self._measure(inputs.audio_in, now)
            rates[pid] = video
            live.update(r for r in (inputs.video_in, inputs.audio_in) if r is not None)
            self.stats[pid] = PublisherStats(
                participant_id=pid,
                connected=inputs.connected,
                video_bps=video,
                audio_bps=audio,
                loss=self._loss(inputs.video_in),
                packets_received=inputs.video_in.packets_received if inputs.video_in else 0,
            )
        for receiver in set(self._meters) - live:
            del self._meters[receiver]
            self._loss_prior.pop(receiver, None)

        for subscriber_id, streams in subscriptions.items():
            states = [
                StreamState(
                    publisher_id=publisher_id,
                    bitrate_bps=rates.get(publisher_id, 0.0),
                    featured=publisher_id in self._featured,
                    rank=self._ranks.get(publisher_id, len(self._ranks)),
                    paused=sender.paused,
                )
                for publisher_id, sender in streams
            ]
            decision = plan_pauses(
                states, self.policy.subscriber_ceiling_bps, self.policy.resume_margin
            )
            senders = dict(streams)
            for publisher_id in decision.pause:
                senders[publisher_id].set_paused(True)
                self._emit(
                    subscriber_id, VideoPaused(event="video_paused", publisher_id=publisher_id)
                )
            for publisher_id in decision.resume:
                senders[publisher_id].set_paused(False)
                self._emit(
                    subscriber_id, VideoResumed(event="video_resumed", publisher_id=publisher_id)
                )

    def _measure(self, receiver: Publisher | None, now: float) -> float:
        if receiver is None:
            return 0.0
        meter = self._meters.get(receiver)
        if meter is None:
            meter = self._meters[receiver] = RateMeter()
        return meter.update(receiver.bytes_received, now)

    def _loss(self, receiver: Publisher | None) -> float:
        if receiver is None:
            return 0.0
        expected, received = receiver.loss_counters()
        prior_expected, prior_received = self._loss_prior.get(receiver, (0, 0))
        self._loss_prior[receiver] = (expected, received)
        interval = expected - prior_expected
        lost = interval - (received - prior_received)
        return max(0.0, lost / interval) if interval > 0 else 0.0
