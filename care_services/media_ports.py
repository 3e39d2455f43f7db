"""What the care services need from the media server; media.server.MediaServer satisfies it.

The media package never imports these: its server and rooms match them by shape, and the
composition root hands the server in. A test may hand in a fake of this seam.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

from care_services.media_events import MediaEvent

HintName = Literal["dark", "covered", "frozen", "blurred", "no_face"]
QualityLevel = Literal["good", "fair", "poor"]


class MediaEvents(Protocol):
    """What a media room tells its service: offers to relay and connection state changes."""

    async def send_offer(self, participant_id: str, sdp: str) -> None: ...

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        """Report a media event about one participant (care_services/media_events.py)."""
        ...


class PublisherView(Protocol):
    """How one participant's media reaches the server (the host console's quality dot)."""

    @property
    def connected(self) -> bool: ...

    @property
    def video_bps(self) -> float: ...

    @property
    def loss(self) -> float: ...

    @property
    def packets_received(self) -> int: ...


class MediaRoomPort(Protocol):
    """One media room: each participant's one peer connection with the server."""

    @property
    def participants(self) -> list[str]: ...

    async def connect(self, participant_id: str, offer_sdp: str) -> str:
        """Answer a participant's offer (raises the gateway's `error_type` if refused)."""
        ...

    async def accept_answer(self, participant_id: str, answer_sdp: str) -> None: ...

    async def disconnect(self, participant_id: str) -> None: ...

    def set_audio_forwarding(self, participant_id: str, enabled: bool) -> None: ...

    def use_group_budget(self) -> None:
        """Share each subscriber's downlink the group-room way (publish hints, ceilings)."""
        ...

    def set_priorities(self, featured: Collection[str], order: Sequence[str]) -> None: ...

    async def set_groups(self, groups: Mapping[str, str]) -> None: ...

    def publisher_stats(self) -> Mapping[str, PublisherView]: ...


class MediaGateway(Protocol):
    """The media server as calls, rooms and echo tests use it."""

    # The root of the errors the media server raises on purpose; the services turn a refused
    # offer or answer into a wire error without knowing the media package.
    @property
    def error_type(self) -> type[Exception]: ...

    def open_room(self, room_id: str, signal: MediaEvents, *, echo: bool = False) -> MediaRoomPort:
        """The room `room_id`, created with `signal` if it does not exist yet."""
        ...

    def room(self, room_id: str) -> MediaRoomPort | None: ...

    async def close_room(self, room_id: str) -> None: ...


class QualityReading(Protocol):
    """One participant's call quality over the last interval (media.quality.QualitySample)."""

    @property
    def loss_pct(self) -> float: ...

    @property
    def jitter_ms(self) -> float: ...

    @property
    def rtt_ms(self) -> float | None: ...

    @property
    def fps(self) -> float: ...

    @property
    def freezes(self) -> int: ...

    @property
    def level(self) -> QualityLevel: ...


class CameraSight(Protocol):
    """What the camera analysis saw of the client in this call so far."""

    @property
    def face_seen(self) -> bool: ...

    @property
    def frames_seen(self) -> int: ...


class FinishedRecording(Protocol):
    @property
    def video_frames(self) -> int: ...

    @property
    def size_bytes(self) -> int: ...


class InsightGateway(Protocol):
    """The media side of insight (media.call_insight.CallInsight): probes, analysis, recorder."""

    @property
    def rooms_active(self) -> int: ...

    @property
    def participants_active(self) -> int: ...

    @property
    def analysed_calls(self) -> int: ...

    def follow(
        self,
        call_id: str,
        participants: Sequence[str],
        client_id: str,
        *,
        analyse: bool,
        on_hint: Callable[[HintName | None], None],
    ) -> None:
        """Probe the call's participants and, with `analyse`, look at the client's camera."""
        ...

    def camera(self, call_id: str) -> CameraSight | None: ...

    def hint_text(self, hint: str, name: str) -> str: ...

    async def sample(self, call_id: str) -> Mapping[str, QualityReading]: ...

    def forwarded_bps(self, interval_s: float) -> float: ...

    def start_recording(
        self, call_id: str, client_id: str, staff_id: str, path: Path
    ) -> Literal["started", "no_media", "no_camera"]: ...

    async def finish_recording(
        self, call_id: str, sealed_path: Path, key: bytes
    ) -> FinishedRecording | None: ...

    async def open_recording(self, path: Path, key: bytes) -> bytes: ...

    def forget(self, call_id: str) -> None: ...

    def close(self) -> None: ...
