"""The media events the care services hear, as the port declares them.

The same shapes as media/events.py, declared here so that the services never import media:
TypedDicts match by structure, so mypy checks that the media server's events are exactly
these. Handlers narrow on `event["event"]` and end in `assert_never`.
"""

from __future__ import annotations

from typing import Literal, TypedDict


class Connected(TypedDict):
    event: Literal["connected"]


class Failed(TypedDict):
    event: Literal["failed"]


class Closed(TypedDict):
    event: Literal["closed"]
    reason: Literal["disconnected", "replaced", "remote_closed", "failed", "room_closed"]


class TrackAdded(TypedDict):
    event: Literal["track_added"]
    publisher_id: str
    kind: str
    mid: str
    stream_id: str


class TrackRemoved(TypedDict):
    event: Literal["track_removed"]
    publisher_id: str
    kind: str
    mid: str


class RenegotiationFailed(TypedDict):
    event: Literal["renegotiation_failed"]
    error: str


class PublishHint(TypedDict):
    event: Literal["publish_hint"]
    max_bitrate: int
    max_fps: int
    scale_down: float


class VideoPaused(TypedDict):
    event: Literal["video_paused"]
    publisher_id: str


class VideoResumed(TypedDict):
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
