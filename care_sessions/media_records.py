"""What a call's media leaves in its record: quality, camera evidence, recordings.

No image and no health value is kept here: a quality summary is network figures, camera
evidence is "a face was seen" (yes/no) with how many frames were looked at, and a recording
entry points at an encrypted file that is deleted when its retention ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class QualitySummary:
    """One participant's connection over a whole session."""

    session_id: str
    participant: str  # "staff" | "client"
    samples: int
    loss_pct_avg: float
    loss_pct_max: float
    rtt_ms_avg: float | None
    jitter_ms_avg: float
    fps_avg: float
    freezes: int
    poor_share: float  # of samples graded "poor"
    level: str  # "good" | "fair" | "poor": the session as a whole


@dataclass(frozen=True)
class FaceEvidence:
    """Whether the client's face was seen during the call when a check-in was recorded."""

    checkin_id: str
    session_id: str
    client_id: str
    face_seen: bool
    frames_analysed: int
    recorded_at: datetime


@dataclass(frozen=True)
class RecordingEntry:
    id: str
    session_id: str
    client_id: str
    started_by: str
    started_at: datetime
    ended_at: datetime
    video_frames: int
    size_bytes: int
    file_name: str  # inside the configured recordings directory
    expires_at: datetime
    deleted_at: datetime | None = None

    @property
    def duration_s(self) -> float:
        return (self.ended_at - self.started_at).total_seconds()


class MediaRecordStore(Protocol):
    async def save_quality(self, summaries: list[QualitySummary]) -> None: ...

    async def quality(self, session_id: str) -> list[QualitySummary]: ...

    async def quality_of(self, session_ids: list[str]) -> list[QualitySummary]: ...

    async def save_face_evidence(self, evidence: FaceEvidence) -> None: ...

    async def face_evidence(self, checkin_id: str) -> FaceEvidence | None: ...

    async def add_recording(self, entry: RecordingEntry) -> None: ...

    async def recording(self, recording_id: str) -> RecordingEntry | None: ...

    async def recordings(self, session_ids: list[str]) -> list[RecordingEntry]: ...

    async def expired_recordings(self, now: datetime) -> list[RecordingEntry]: ...

    async def mark_recording_deleted(self, recording_id: str, at: datetime) -> None: ...
