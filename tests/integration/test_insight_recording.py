"""Recording a call: consent first, both ends told, WebM of the forwarded packets, sealed,
downloadable with an access-log entry, and gone when its retention ends."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import av
import pytest

from care_sessions.access_log import AccessQuery, DataKind
from care_sessions.auth import staff_principal
from care_sessions.consent import ConsentPurpose
from media.recording import SealedFileError, open_sealed
from protocol.messages import CallRecording, CallRecordStart, CallRecordStop, ServerMessage
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config, serving
from tests.integration.insight_harness import FPS, InsightNurse, light_camera

RECORD_S = 4.0


class WatchingTablet(HeadlessTablet):
    """A headless tablet that keeps the call.recording messages its screen would show."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.recording: list[CallRecording] = []

    async def _on_message(self, message: ServerMessage) -> None:
        if isinstance(message, CallRecording):
            self.recording.append(message)
        await super()._on_message(message)


@pytest.fixture
async def recording_server(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, bytes]]:
    key = os.urandom(32)
    config = make_config(
        tmp_path,
        **{
            "insight.recording_key": base64.b64encode(key).decode(),
            "insight.recordings_dir": str(tmp_path / "recordings"),
            "insight.recording_retention_days": 7.0,
            "insight.no_face_after_s": 600.0,
        },
    )
    async with serving(config) as running:
        yield running, key


async def _until(check: object, timeout: float) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.1)


async def test_consented_recording_end_to_end(
    recording_server: tuple[RunningServer, bytes], tmp_path: Path
) -> None:
    """Refused without consent; with it: both ends told, ~duration x fps frames in a sealed
    WebM that only the key opens, a logged download, and deletion at the end of retention."""
    server, key = recording_server
    services = server.services
    insight = services.insight
    assert insight is not None and server.admin is not None
    client = await server.add_client("Aino")
    tablet = WatchingTablet(
        server.url,
        await server.enrol_tablet(client),
        video_factory=lambda: light_camera(7),
        answer_after_s=0,
    )
    nurse = InsightNurse(server.url, "nurse1", NURSE_PASSWORD, source_id=100)
    await tablet.start()
    await nurse.start()
    try:
        call_id = await nurse.call(client.id)
        assert nurse.peer is not None and nurse.signal is not None
        await nurse.peer.wait_for_video_frames(5, timeout=15)

        # No consent on record: refused, and nothing is recording.
        await nurse.signal.send(CallRecordStart(call_id=call_id, ref="r1"))
        await nurse.wait_for(lambda: any(e.ref == "r1" for e in nurse.errors), 10)
        assert next(e for e in nurse.errors if e.ref == "r1").code == "consent_required"
        assert nurse.recording == [] and tablet.recording == []

        await services.consents.decide(
            client.id, ConsentPurpose.RECORDING, True, staff_principal(server.admin)
        )
        await nurse.signal.send(CallRecordStart(call_id=call_id))
        await nurse.wait_for(lambda: any(m.active for m in nurse.recording), 10)
        await _until(lambda: any(m.active for m in tablet.recording), 10)
        await asyncio.sleep(RECORD_S)
        await nurse.signal.send(CallRecordStop(call_id=call_id))
        await nurse.wait_for(lambda: not nurse.recording[-1].active, 20)
        await _until(lambda: not tablet.recording[-1].active, 10)
        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 10)
    finally:
        await nurse.stop()
        await tablet.stop()

    [entry] = await insight.recordings([call_id])
    assert entry.client_id == client.id and entry.started_by == server.nurses[0].id
    sealed = insight.recordings_dir / entry.file_name
    assert sealed.exists()
    assert not list(insight.recordings_dir.glob("*.part")), "plaintext left on disk"

    # Unreadable without the key: no WebM header, PyAV cannot open it, another key fails.
    raw = sealed.read_bytes()
    assert not raw.startswith(b"\x1a\x45\xdf\xa3")
    with pytest.raises(av.error.FFmpegError):
        av.open(io.BytesIO(raw), format="webm")
    with pytest.raises(SealedFileError):
        open_sealed(sealed, os.urandom(32))

    # With the key: a WebM whose video holds about duration x fps frames.
    webm = open_sealed(sealed, key)
    assert webm.startswith(b"\x1a\x45\xdf\xa3")
    with av.open(io.BytesIO(webm), format="webm") as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("vp8", 320, 240)
        assert len(container.streams.audio) == 2  # the client's and the nurse's microphones
        frames = [frame.time for frame in container.decode(video=0)]
    span = frames[-1] - frames[0]  # type: ignore[operator]
    assert span >= RECORD_S * 0.6, f"only {span:.1f} s of video"
    expected = span * FPS + 1
    assert abs(len(frames) - expected) <= 0.2 * expected, (len(frames), span)
    assert entry.video_frames == len(frames)
    assert span <= entry.duration_s + 0.5

    # Download over HTTP (the nurse's session): decrypted, and logged as an access.
    other = InsightNurse(server.url, "nurse2", NURSE_PASSWORD)
    try:
        await other.login()
        async with other._http.get(f"{server.url}/sessions") as page:
            html = await page.text()
            assert f'href="/recordings/{entry.id}"' in html
        async with other._http.get(f"{server.url}/recordings/{entry.id}") as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "video/webm"
            assert await response.read() == webm
        log = await services.access_log.search(AccessQuery(client_id=client.id))
        downloads = [e for e in log if e.data is DataKind.RECORDING]
        assert len(downloads) == 1 and downloads[0].actor_id == server.nurses[1].id

        # Retention: once it has ended the sweep deletes the file and the record says so.
        assert await insight.sweep_retention(entry.expires_at - timedelta(seconds=1)) == 0
        assert await insight.sweep_retention(entry.expires_at + timedelta(seconds=1)) == 1
        assert not sealed.exists()
        [gone] = await insight.recordings([call_id])
        assert gone.deleted_at is not None
        async with other._http.get(f"{server.url}/recordings/{entry.id}") as response:
            assert response.status == 404
        async with other._http.get(f"{server.url}/sessions") as page:
            assert "Deleted (retention)" in await page.text()
    finally:
        await other.stop()
