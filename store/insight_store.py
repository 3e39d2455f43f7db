"""Quality summaries, face evidence and recordings on SQLAlchemy Core (migration 0031)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.media_records import FaceEvidence, QualitySummary, RecordingEntry
from store.tables import ID, UtcDateTime, metadata

session_quality = sa.Table(
    "session_quality",
    metadata,
    sa.Column("session_id", ID, sa.ForeignKey("care_session.id"), primary_key=True),
    sa.Column("participant", sa.String(16), primary_key=True),
    sa.Column("samples", sa.Integer, nullable=False),
    sa.Column("loss_pct_avg", sa.Float, nullable=False),
    sa.Column("loss_pct_max", sa.Float, nullable=False),
    sa.Column("rtt_ms_avg", sa.Float, nullable=True),
    sa.Column("jitter_ms_avg", sa.Float, nullable=False),
    sa.Column("fps_avg", sa.Float, nullable=False),
    sa.Column("freezes", sa.Integer, nullable=False),
    sa.Column("poor_share", sa.Float, nullable=False),
    sa.Column("level", sa.String(8), nullable=False),
)

checkin_face_evidence = sa.Table(
    "checkin_face_evidence",
    metadata,
    sa.Column("checkin_id", ID, primary_key=True),
    sa.Column("session_id", ID, sa.ForeignKey("care_session.id"), nullable=False),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("face_seen", sa.Boolean, nullable=False),
    sa.Column("frames_analysed", sa.Integer, nullable=False),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
)

call_recording = sa.Table(
    "call_recording",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("session_id", ID, sa.ForeignKey("care_session.id"), nullable=False),
    sa.Column("client_id", ID, nullable=False),
    sa.Column("started_by", ID, nullable=False),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("ended_at", UtcDateTime, nullable=False),
    sa.Column("video_frames", sa.Integer, nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("file_name", sa.String(80), nullable=False),
    sa.Column("expires_at", UtcDateTime, nullable=False),
    sa.Column("deleted_at", UtcDateTime, nullable=True),
    sa.Index("ix_call_recording_session_id", "session_id"),
    sa.Index("ix_call_recording_expires_at", "expires_at"),
)


class InsightStore:
    """Implements care_sessions.media_records.MediaRecordStore."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def save_quality(self, summaries: list[QualitySummary]) -> None:
        if not summaries:
            return
        async with self._engine.begin() as conn:
            for summary in summaries:
                c = session_quality.c
                await conn.execute(
                    session_quality.delete().where(
                        c.session_id == summary.session_id,
                        c.participant == summary.participant,
                    )
                )
            await conn.execute(
                session_quality.insert(), [_quality_row(summary) for summary in summaries]
            )

    async def quality(self, session_id: str) -> list[QualitySummary]:
        c = session_quality.c
        statement = (
            session_quality.select().where(c.session_id == session_id).order_by(c.participant)
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(statement)
            return [QualitySummary(**row._asdict()) for row in rows]

    async def quality_of(self, session_ids: list[str]) -> list[QualitySummary]:
        if not session_ids:
            return []
        c = session_quality.c
        statement = session_quality.select().where(c.session_id.in_(session_ids))
        async with self._engine.connect() as conn:
            return [QualitySummary(**row._asdict()) for row in await conn.execute(statement)]

    async def save_face_evidence(self, evidence: FaceEvidence) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                checkin_face_evidence.delete().where(
                    checkin_face_evidence.c.checkin_id == evidence.checkin_id
                )
            )
            await conn.execute(
                checkin_face_evidence.insert().values(
                    checkin_id=evidence.checkin_id,
                    session_id=evidence.session_id,
                    client_id=evidence.client_id,
                    face_seen=evidence.face_seen,
                    frames_analysed=evidence.frames_analysed,
                    recorded_at=evidence.recorded_at,
                )
            )

    async def face_evidence(self, checkin_id: str) -> FaceEvidence | None:
        statement = checkin_face_evidence.select().where(
            checkin_face_evidence.c.checkin_id == checkin_id
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement)).first()
            return None if row is None else FaceEvidence(**row._asdict())

    async def add_recording(self, entry: RecordingEntry) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(call_recording.insert().values(**_recording_row(entry)))

    async def recording(self, recording_id: str) -> RecordingEntry | None:
        statement = call_recording.select().where(call_recording.c.id == recording_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(statement)).first()
            return None if row is None else RecordingEntry(**row._asdict())

    async def recordings(self, session_ids: list[str]) -> list[RecordingEntry]:
        if not session_ids:
            return []
        c = call_recording.c
        statement = (
            call_recording.select().where(c.session_id.in_(session_ids)).order_by(c.started_at)
        )
        async with self._engine.connect() as conn:
            return [RecordingEntry(**row._asdict()) for row in await conn.execute(statement)]

    async def expired_recordings(self, now: datetime) -> list[RecordingEntry]:
        c = call_recording.c
        statement = call_recording.select().where(c.expires_at <= now, c.deleted_at.is_(None))
        async with self._engine.connect() as conn:
            return [RecordingEntry(**row._asdict()) for row in await conn.execute(statement)]

    async def mark_recording_deleted(self, recording_id: str, at: datetime) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                call_recording.update()
                .where(call_recording.c.id == recording_id)
                .values(deleted_at=at)
            )


def _quality_row(summary: QualitySummary) -> dict[str, Any]:
    return {
        "session_id": summary.session_id,
        "participant": summary.participant,
        "samples": summary.samples,
        "loss_pct_avg": summary.loss_pct_avg,
        "loss_pct_max": summary.loss_pct_max,
        "rtt_ms_avg": summary.rtt_ms_avg,
        "jitter_ms_avg": summary.jitter_ms_avg,
        "fps_avg": summary.fps_avg,
        "freezes": summary.freezes,
        "poor_share": summary.poor_share,
        "level": summary.level,
    }


def _recording_row(entry: RecordingEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "session_id": entry.session_id,
        "client_id": entry.client_id,
        "started_by": entry.started_by,
        "started_at": entry.started_at,
        "ended_at": entry.ended_at,
        "video_frames": entry.video_frames,
        "size_bytes": entry.size_bytes,
        "file_name": entry.file_name,
        "expires_at": entry.expires_at,
        "deleted_at": entry.deleted_at,
    }
