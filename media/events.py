"""What a media room reports about its participants: one typed union, tagged by "event".

TypedDicts rather than dataclasses on purpose: the care services declare the same shapes in
their own port (care_services/media_ports.py) without importing media, and mypy matches
the two structurally. Each handler narrows on `event["event"]` and ends in `assert_never`,
so a new event kind fails type-checking wherever one is not handled.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class Connected(TypedDict):
    """The participant's ICE and DTLS are up (once per connection)."""

    event: Literal["connected"]


class Failed(TypedDict):
    """ICE or DTLS failed (consent expired, say); `Closed` with reason "failed" follows."""

    event: Literal["failed"]


ClosedReason = Literal["disconnected", "replaced", "remote_closed", "failed", "room_closed"]


class Closed(TypedDict):
    """The connection is gone, and why."""

    event: Literal["closed"]
    reason: ClosedReason


class TrackAdded(TypedDict):
    """This participant now receives `publisher_id`'s `kind` on transceiver `mid`."""

    event: Literal["track_added"]
    publisher_id: str
    kind: str
    mid: str
    stream_id: str


class TrackRemoved(TypedDict):
    """That publisher left; the transceiver stays, silent, and may carry a later one."""

    event: Literal["track_removed"]
    publisher_id: str
    kind: str
    mid: str


class RenegotiationFailed(TypedDict):
    """The server could not build a renegotiation offer (a bug, logged)."""

    event: Literal["renegotiation_failed"]
    error: str


class PublishHint(TypedDict):
    """Group rooms: what this participant should publish now."""

    event: Literal["publish_hint"]
    max_bitrate: int
    max_fps: int
    scale_down: float


class VideoPaused(TypedDict):
    """Group rooms: this participant's budget paused that publisher's video."""

    event: Literal["video_paused"]
    publisher_id: str


class VideoResumed(TypedDict):
    """...and resumed it (the first forwarded packet starts a keyframe)."""

    event: Literal["video_resumed"]
    publisher_id: str


MediaEvent = (
    Connected
    | Failed
    | Closed
    | TrackAdded
    | TrackRemoved
    | RenegotiationFailed
    | PublishHint
    | VideoPaused
    | VideoResumed
)
