"""Media insight for 1:1 care calls: quality, camera hints, and recording with consent.

`InsightService` follows the live calls of this instance (it polls `CallService`, so the
call code needs no hook): for each active call it keeps a quality probe on both participants
and, when analysis is on, an `AnalysisTap` on the client's camera. It pushes `call.quality`
and `call.hint` to the nurse, stores a quality summary with the session record when the call
ends, notes "a face was seen" as evidence when the nurse records a check-in during the call,
and runs recordings: only with the client's recording consent on record, started and stopped
by the nurse, announced to both ends with `call.recording`, sealed at rest, listed with the
session and deleted when their retention ends (docs/media.md, "Media insight").
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from care_services.calls import CallService
from care_services.media_ports import CameraSight, HintName, InsightGateway, QualityReading
from care_services.metrics import ServiceMetrics
from care_services.ports import Notifier
from care_services.settings import InsightSettings
from care_sessions.calls import Call, CallState
from care_sessions.checkin_ports import CareRecordStore
from care_sessions.clock import Clock
from care_sessions.consent import ConsentLedger, ConsentPurpose
from care_sessions.errors import Forbidden, InvalidState, NotFound
from care_sessions.identity import Principal
from care_sessions.media_records import (
    FaceEvidence,
    MediaRecordStore,
    QualitySummary,
    RecordingEntry,
)
from protocol.messages import CallHint, CallQuality, CallRecording

log = logging.getLogger(__name__)
_TICK_S = 0.5


@dataclass
class _Recording:
    id: str
    started_at: datetime
    started_by: str


@dataclass
class _Watched:
    """One live call as insight follows it (the media side keeps the probes and the tap)."""

    call: Call
    analysed: bool
    samples: dict[str, list[QualityReading]] = field(default_factory=dict)
    recording: _Recording | None = None
    hint: HintName | None = None

    @property
    def first_name(self) -> str:
        return (self.call.client_name.split() or ["The client"])[0]


class InsightService:
    """Quality, camera hints and recordings for the calls of this instance."""

    def __init__(
        self,
        *,
        calls: CallService,
        media: InsightGateway,
        hub: Notifier,
        store: MediaRecordStore,
        consents: ConsentLedger,
        clock: Clock,
        settings: InsightSettings,
        metrics: ServiceMetrics,
        checkins: CareRecordStore | None = None,
    ) -> None:
        self._calls = calls
        self._media = media
        self._hub = hub
        self._store = store
        self._consents = consents
        self._clock = clock
        self._settings = settings
        self.metrics = metrics
        self._checkins = checkins
        self._key = (
            base64.b64decode(settings.recording_key) if settings.recording_key is not None else None
        )
        self.recordings_dir = Path(settings.recordings_dir)
        self._watched: dict[str, _Watched] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        metrics.live("hoiva_calls_active", "Calls held by this instance", self._active_calls)
        metrics.live("hoiva_media_rooms_active", "Media rooms open", self._rooms_active)
        metrics.live(
            "hoiva_media_participants", "Peer connections in media rooms", self._participants
        )
        metrics.live("hoiva_signaling_connections", "Open signaling sockets", self._socket_count)

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._run())
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def close(self) -> None:
        for task in (self._runner, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        for watched in list(self._watched.values()):
            await self._finish(watched)
        for task in list(self._tasks):
            task.cancel()
        self._media.close()

    def watching(self, call_id: str) -> bool:
        return call_id in self._watched

    def camera(self, call_id: str) -> CameraSight | None:
        """What the analysis saw of the client's camera in this call so far (tests, bench)."""
        return self._media.camera(call_id)

    # ---- recording ------------------------------------------------------------------------

    async def start_recording(self, who: Principal, call_id: str) -> None:
        """Nurse: record the call; refused without the client's recording consent."""
        call = self._nurse_call(who, call_id)
        if call.state is not CallState.ACTIVE:
            raise InvalidState("a call can be recorded once it is answered")
        if self._key is None:
            raise InvalidState("recording is not configured on this server")
        await self._consents.require(call.client_id, ConsentPurpose.RECORDING)
        watched = self._watched.get(call_id) or self._watch(call)
        if watched.recording is None:
            recording_id = str(uuid.uuid4())
            started = self._media.start_recording(
                call_id,
                call.client_id,
                call.caller_id,
                self.recordings_dir / f"{recording_id}.webm.part",
            )
            if started == "no_media":
                raise InvalidState("the call's media is not connected yet")
            if started == "no_camera":
                raise InvalidState("the client's camera is not connected yet")
            watched.recording = _Recording(recording_id, self._clock.now(), who.subject_id)
            self.metrics.recordings_active.inc()
            log.info("recording %s of call %s started", recording_id, call_id)
        await self._announce_recording(call, True)

    async def stop_recording(self, who: Principal, call_id: str) -> None:
        call = self._nurse_call(who, call_id)
        watched = self._watched.get(call_id)
        if watched is not None:
            await self._end_recording(watched)
        await self._announce_recording(call, False)

    async def recordings(self, session_ids: list[str]) -> list[RecordingEntry]:
        return await self._store.recordings(session_ids)

    async def recording(self, recording_id: str) -> RecordingEntry | None:
        return await self._store.recording(recording_id)

    async def quality_summaries(self, session_id: str) -> list[QualitySummary]:
        return await self._store.quality(session_id)

    async def quality_of(self, session_ids: list[str]) -> list[QualitySummary]:
        return await self._store.quality_of(session_ids)

    async def face_evidence(self, checkin_id: str) -> FaceEvidence | None:
        return await self._store.face_evidence(checkin_id)

    async def recording_bytes(self, entry: RecordingEntry) -> bytes:
        """The decrypted WebM of a listed recording (the caller writes the access log)."""
        if self._key is None:
            raise InvalidState("recordings cannot be opened: no recording key is configured")
        if entry.deleted_at is not None:
            raise NotFound("this recording was deleted when its retention ended")
        path = self.recordings_dir / entry.file_name
        try:
            return await self._media.open_recording(path, self._key)
        except FileNotFoundError:
            raise NotFound("the recording's file is missing") from None

    async def sweep_retention(self, now: datetime | None = None) -> int:
        """Delete recordings whose retention has ended; returns how many."""
        now = now or self._clock.now()
        deleted = 0
        for entry in await self._store.expired_recordings(now):
            with contextlib.suppress(FileNotFoundError):
                (self.recordings_dir / entry.file_name).unlink()
            await self._store.mark_recording_deleted(entry.id, now)
            deleted += 1
        if deleted:
            log.info("retention: %d recording(s) deleted", deleted)
        return deleted

    async def _end_recording(self, watched: _Watched) -> None:
        recording, watched.recording = watched.recording, None
        if recording is None:
            return
        self.metrics.recordings_active.dec()
        ended_at = self._clock.now()
        assert self._key is not None
        file_name = f"{recording.id}.webm.sealed"
        result = await self._media.finish_recording(
            watched.call.id, self.recordings_dir / file_name, self._key
        )
        if result is None:
            return
        retention = timedelta(days=self._settings.recording_retention_days)
        await self._store.add_recording(
            RecordingEntry(
                id=recording.id,
                session_id=watched.call.id,
                client_id=watched.call.client_id,
                started_by=recording.started_by,
                started_at=recording.started_at,
                ended_at=ended_at,
                video_frames=result.video_frames,
                size_bytes=result.size_bytes,
                file_name=file_name,
                expires_at=ended_at + retention,
            )
        )

    async def _announce_recording(self, call: Call, active: bool) -> None:
        for subject in call.participants():
            await self._hub.send_to(subject, CallRecording(call_id=call.id, active=active))

    # ---- check-in evidence ----------------------------------------------------------------

    async def note_checkin(self, who: Principal, checkin_id: str) -> None:
        """The nurse recorded a check-in: keep "was a face seen in this call" beside it."""
        call = self._calls.call_of(who.subject_id)
        if call is None or call.caller_id != who.subject_id:
            return
        watched = self._watched.get(call.id)
        sight = self._media.camera(call.id) if watched is not None else None
        if sight is None:
            return
        if self._checkins is not None:
            checkin = await self._checkins.checkin(checkin_id)
            if checkin is None or checkin.client_id != call.client_id:
                return
        await self._store.save_face_evidence(
            FaceEvidence(
                checkin_id=checkin_id,
                session_id=call.id,
                client_id=call.client_id,
                face_seen=sight.face_seen,
                frames_analysed=sight.frames_seen,
                recorded_at=self._clock.now(),
            )
        )

    # ---- following calls ------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sample = loop.time() + self._settings.quality_interval_s
        while True:
            await asyncio.sleep(_TICK_S)
            try:
                await self._follow_calls()
                if loop.time() >= next_sample:
                    next_sample = loop.time() + self._settings.quality_interval_s
                    await self._sample_all()
            except Exception:
                # Insight must never take calls down with it; the next tick tries again.
                log.exception("media insight tick failed")

    async def _follow_calls(self) -> None:
        live = {call.id: call for call in self._calls.live_calls()}
        for call_id, watched in list(self._watched.items()):
            if call_id not in live:
                await self._finish(watched)
        for call in live.values():
            if call.state is not CallState.ACTIVE:
                continue
            self._follow(self._watched.get(call.id) or self._watch(call))
        self.metrics.analysed_calls.set(self._media.analysed_calls)

    def _watch(self, call: Call) -> _Watched:
        # The camera is looked at for care only: never in a relative's private call.
        watched = _Watched(call, self._settings.analyse_calls and not call.is_family)
        self._watched[call.id] = watched
        self._follow(watched)
        return watched

    def _follow(self, watched: _Watched) -> None:
        """Follow the participants' current media (a reconnect brings new receivers)."""
        call = watched.call
        self._media.follow(
            call.id,
            list(call.participants()),
            call.client_id,
            analyse=watched.analysed,
            on_hint=self._hint_callback(watched),
        )

    def _hint_callback(self, watched: _Watched) -> Callable[[HintName | None], None]:
        def on_hint(hint: HintName | None) -> None:
            self._spawn(self._send_hint(watched, hint))

        return on_hint

    async def _send_hint(self, watched: _Watched, hint: HintName | None) -> None:
        if hint == watched.hint or watched.call.id not in self._watched:
            return
        watched.hint = hint
        if hint is not None:
            self.metrics.hints.labels(hint=hint).inc()
        call = watched.call
        await self._hub.send_to(
            call.caller_id,
            CallHint(
                call_id=call.id,
                subject_id=call.client_id,
                hint=hint,
                text="" if hint is None else self._media.hint_text(hint, watched.first_name),
            ),
        )

    async def _sample_all(self) -> None:
        for watched in list(self._watched.values()):
            samples = await self._media.sample(watched.call.id)
            for subject, sample in samples.items():
                watched.samples.setdefault(subject, []).append(sample)
                self._observe(_participant_kind(watched.call, subject), sample)
                call = watched.call
                await self._hub.send_to(
                    call.caller_id,
                    CallQuality(
                        call_id=call.id,
                        subject_id=subject,
                        level=sample.level,
                        loss_pct=sample.loss_pct,
                        rtt_ms=sample.rtt_ms,
                        fps=sample.fps,
                    ),
                )
        self._sample_forwarded()

    def _observe(self, participant: str, sample: QualityReading) -> None:
        metrics = self.metrics
        metrics.loss.labels(participant=participant).observe(sample.loss_pct)
        metrics.jitter.labels(participant=participant).observe(sample.jitter_ms / 1000)
        metrics.fps.labels(participant=participant).observe(sample.fps)
        if sample.rtt_ms is not None:
            metrics.rtt.labels(participant=participant).observe(sample.rtt_ms / 1000)
        if sample.freezes:
            metrics.freezes.labels(participant=participant).inc(sample.freezes)

    def _sample_forwarded(self) -> None:
        """Forwarded bitrate over every room (calls and group rooms) since the last sample."""
        interval_s = self._settings.quality_interval_s
        self.metrics.forwarded_bitrate.set(self._media.forwarded_bps(interval_s))

    async def _finish(self, watched: _Watched) -> None:
        """The call ended (or we shut down): stop analysing, keep the summary, end recording."""
        self._watched.pop(watched.call.id, None)
        try:
            if watched.recording is not None:
                await self._end_recording(watched)
                await self._announce_recording(watched.call, False)
        finally:
            self._media.forget(watched.call.id)
            summaries = [
                _summarise(watched.call.id, _participant_kind(watched.call, subject), samples)
                for subject, samples in watched.samples.items()
                if samples
            ]
            await self._store.save_quality(summaries)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._settings.retention_check_s)
            try:
                await self.sweep_retention()
            except Exception:
                log.exception("recording retention sweep failed")

    # ---- helpers ----------------------------------------------------------------------------

    def _nurse_call(self, who: Principal, call_id: str) -> Call:
        call = self._calls.call(call_id)
        if call is None or not call.is_participant(who.subject_id):
            raise NotFound(f"no call {call_id}")
        if who.subject_id != call.caller_id:
            raise Forbidden("only the nurse in the call starts and stops recording")
        return call

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _active_calls(self) -> float:
        return float(self._calls.active_calls)

    def _rooms_active(self) -> float:
        return float(self._media.rooms_active)

    def _participants(self) -> float:
        return float(self._media.participants_active)

    def _socket_count(self) -> float:
        return float(self._hub.connection_count)


def _participant_kind(call: Call, subject: str) -> str:
    return "client" if subject == call.client_id else "staff"


def _summarise(session_id: str, participant: str, samples: list[QualityReading]) -> QualitySummary:
    n = len(samples)
    rtts = [s.rtt_ms for s in samples if s.rtt_ms is not None]
    poor = sum(1 for s in samples if s.level == "poor")
    fair = sum(1 for s in samples if s.level == "fair")
    # The session is as good as most of it was: a single poor sample does not mark it poor.
    level = "poor" if poor / n > 0.2 else "fair" if (poor + fair) / n > 0.2 else "good"
    return QualitySummary(
        session_id=session_id,
        participant=participant,
        samples=n,
        loss_pct_avg=round(sum(s.loss_pct for s in samples) / n, 2),
        loss_pct_max=max(s.loss_pct for s in samples),
        rtt_ms_avg=round(sum(rtts) / len(rtts), 1) if rtts else None,
        jitter_ms_avg=round(sum(s.jitter_ms for s in samples) / n, 1),
        fps_avg=round(sum(s.fps for s in samples) / n, 1),
        freezes=sum(s.freezes for s in samples),
        poor_share=round(poor / n, 3),
        level=level,
    )
