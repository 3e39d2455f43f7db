"""The media side of insight: per call, quality probes, a camera analysis tap and a recorder.

care_services/insight.py decides which calls are looked at, who is told what and what is
kept; this module does the looking. It attaches to a media room's receivers and senders, runs
the OpenCV analysis on one worker thread off the forwarding path, and records and seals the
WebM. Calls are named by their media room's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from media.analysis import AnalysisTap
from media.camera_checks import CameraWatch, CheckLimits, Hint, hint_text
from media.errors import MediaError, UnknownParticipant
from media.face_cascade import FaceDetector
from media.parts import Publisher, Subscriber
from media.quality import ParticipantQuality, QualitySample
from media.recording import CallRecorder, open_sealed, seal_file
from media.room import MediaRoom
from media.server import MediaServer

log = logging.getLogger(__name__)

RecordingStart = Literal["started", "no_media", "no_camera"]
HintName = Literal["dark", "covered", "frozen", "blurred", "no_face"]


@dataclass(frozen=True, kw_only=True)
class AnalysisSettings:
    """How hard the camera is looked at (config section `insight`)."""

    # At most this many frames a second are analysed per call (keyframes the server asks for).
    analysis_fps: float = 2.0
    keyframe_interval_s: float = 1.0
    # "Nobody in view" is said only after this long without a face.
    no_face_after_s: float = 20.0


@dataclass(frozen=True)
class FinishedRecording:
    """A recording stopped and sealed at rest."""

    video_frames: int
    size_bytes: int


@dataclass(frozen=True)
class CameraSight:
    """What the analysis saw of the client's camera in this call so far."""

    face_seen: bool
    frames_seen: int


@dataclass
class _Followed:
    watch: CameraWatch | None
    on_hint: Callable[[HintName | None], None]
    tap: AnalysisTap | None = None
    quality: dict[str, ParticipantQuality] = field(default_factory=dict)
    recorder: CallRecorder | None = None


class CallInsight:
    """Quality probes, camera analysis and recording over the rooms of one media server."""

    def __init__(self, server: MediaServer, settings: AnalysisSettings) -> None:
        self._server = server
        self._settings = settings
        self._limits = CheckLimits(no_face_after_s=settings.no_face_after_s)
        self._detector: FaceDetector | None = None
        # One worker for every call's analysis: decoding is bounded by `analysis_fps` per call
        # and the taps drop frames while it is busy.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hoiva-analysis")
        self._followed: dict[str, _Followed] = {}
        self._forwarded_octets: dict[int, int] = {}

    @property
    def rooms_active(self) -> int:
        return self._server.rooms_active

    @property
    def participants_active(self) -> int:
        return self._server.participants_active

    @property
    def analysed_calls(self) -> int:
        return sum(1 for f in self._followed.values() if f.tap is not None)

    def follow(
        self,
        call_id: str,
        participants: Sequence[str],
        client_id: str,
        *,
        analyse: bool,
        on_hint: Callable[[HintName | None], None],
    ) -> None:
        """Probe the participants' current receivers (a reconnect brings new ones); with
        `analyse`, tap the client's camera. Call it again whenever the call may have changed."""
        followed = self._followed.get(call_id)
        if followed is None:
            watch = None
            if analyse:
                if self._detector is None:
                    self._detector = FaceDetector()
                watch = CameraWatch(self._limits, self._detector)
            followed = self._followed[call_id] = _Followed(watch, on_hint)
        room = self._server.room(call_id)
        if room is None:
            return
        for subject in participants:
            receivers = _receivers(room, subject)
            if not receivers:
                continue
            probe = followed.quality.get(subject)
            if probe is None:
                probe = followed.quality[subject] = ParticipantQuality()
            probe.attach(receivers)
            if subject != client_id or followed.watch is None:
                continue
            video = next((r for r in receivers if r.media_kind == "video"), None)
            if video is not None and (followed.tap is None or followed.tap.receiver is not video):
                if followed.tap is not None:
                    followed.tap.stop()
                followed.tap = AnalysisTap(
                    video,
                    followed.watch,
                    self._executor,
                    on_hint=_named(followed.on_hint),
                    max_fps=self._settings.analysis_fps,
                    keyframe_interval_s=self._settings.keyframe_interval_s,
                )
                followed.tap.start()

    def analysis_tap(self, call_id: str) -> AnalysisTap | None:
        """The tap on the client's camera in this call (tests, bench)."""
        followed = self._followed.get(call_id)
        return None if followed is None else followed.tap

    def camera(self, call_id: str) -> CameraSight | None:
        """What the analysis saw; None when the call's camera is not being analysed."""
        followed = self._followed.get(call_id)
        if followed is None or followed.watch is None:
            return None
        return CameraSight(followed.watch.face_seen, followed.watch.frames_seen)

    def hint_text(self, hint: str, name: str) -> str:
        """The sentence the nurse sees, e.g. "Aino's camera looks covered"."""
        return hint_text(Hint(hint), name)

    async def sample(self, call_id: str) -> dict[str, QualitySample]:
        """Each probed participant's quality over the interval since the previous sample."""
        followed = self._followed.get(call_id)
        room = self._server.room(call_id)
        if followed is None or room is None:
            return {}
        samples: dict[str, QualitySample] = {}
        for subject, probe in followed.quality.items():
            sample = await probe.sample(_senders(room, subject))
            if sample is not None:
                samples[subject] = sample
        return samples

    def forwarded_bps(self, interval_s: float) -> float:
        """Bits per second forwarded over every room (calls and group rooms) since last asked."""
        octets: dict[int, int] = {}
        for room in self._server.rooms():
            octets.update(room.sent_octets())
        previous, self._forwarded_octets = self._forwarded_octets, octets
        sent = sum(max(0, n - previous.get(key, 0)) for key, n in octets.items())
        return 8 * sent / interval_s

    def start_recording(
        self, call_id: str, client_id: str, staff_id: str, path: Path
    ) -> RecordingStart:
        """Record the client's camera and both sides' audio into `path` (plaintext WebM)."""
        room = self._server.room(call_id)
        followed = self._followed.get(call_id)
        if room is None or followed is None:
            return "no_media"
        if followed.recorder is not None:
            return "started"
        client_in = _receivers(room, client_id)
        staff_in = _receivers(room, staff_id)
        video = next((r for r in client_in if r.media_kind == "video"), None)
        if video is None:
            return "no_camera"
        audio = [r for r in (*client_in, *staff_in) if r.media_kind == "audio"]
        path.parent.mkdir(parents=True, exist_ok=True)
        recorder = CallRecorder(path, video, audio)
        recorder.start()
        followed.recorder = recorder
        return "started"

    async def finish_recording(
        self, call_id: str, sealed_path: Path, key: bytes
    ) -> FinishedRecording | None:
        """Stop the call's recording and seal it at `sealed_path`; None if it could not be."""
        followed = self._followed.get(call_id)
        recorder = None if followed is None else followed.recorder
        if followed is None or recorder is None:
            return None
        followed.recorder = None
        recorder.detach()
        try:
            result = await asyncio.to_thread(recorder.stop)
        except MediaError:
            log.exception("recording of call %s could not be finished", call_id)
            with contextlib.suppress(FileNotFoundError):
                recorder.path.unlink()
            return None
        try:
            size = await asyncio.to_thread(seal_file, result.path, sealed_path, key)
        finally:
            with contextlib.suppress(FileNotFoundError):
                result.path.unlink()
        return FinishedRecording(video_frames=result.video_frames, size_bytes=size)

    async def open_recording(self, path: Path, key: bytes) -> bytes:
        """The whole plaintext of a sealed recording."""
        return await asyncio.to_thread(open_sealed, path, key)

    def forget(self, call_id: str) -> None:
        """Stop analysing and probing the call (finish its recording first)."""
        followed = self._followed.pop(call_id, None)
        if followed is None:
            return
        if followed.tap is not None:
            followed.tap.stop()
        for probe in followed.quality.values():
            probe.detach()

    def close(self) -> None:
        for call_id in list(self._followed):
            self.forget(call_id)
        self._executor.shutdown(wait=False, cancel_futures=True)


def _named(on_hint: Callable[[HintName | None], None]) -> Callable[[Hint | None], None]:
    def tell(hint: Hint | None) -> None:
        on_hint(None if hint is None else hint.value)

    return tell


def _receivers(room: MediaRoom, subject: str) -> list[Publisher]:
    try:
        receivers, _ = room.media_parts(subject)
    except (UnknownParticipant, MediaError):
        return []
    return receivers


def _senders(room: MediaRoom, subject: str) -> list[Subscriber]:
    try:
        _, senders = room.media_parts(subject)
    except (UnknownParticipant, MediaError):
        return []
    return senders
