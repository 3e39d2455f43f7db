"""A check-in recorded during a call keeps "was the client's face seen" beside the outcome."""

from __future__ import annotations

import asyncio
import fractions
import time
from pathlib import Path

import cv2
import numpy as np
from aiortc import MediaStreamTrack
from av import VideoFrame

from care_sessions.identity import Client, ClientSettings, Language
from protocol.messages import CheckinRecord
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD
from tests.integration.insight_harness import FPS, InsightNurse
from tests.integration.test_checkins_e2e import CareServer, care

__all__ = ["care"]  # the fixture
FACE = Path(__file__).resolve().parents[1] / "fixtures" / "camera" / "face.png"


class FaceCamera(MediaStreamTrack):
    """A camera looking at a portrait (the camera-check fixture), with a little sensor noise."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        gray = cv2.imread(str(FACE), cv2.IMREAD_GRAYSCALE)
        self._luma = np.asarray(gray, dtype=np.int16)
        self._rng = np.random.default_rng(2)
        self._count = 0
        self._start = time.monotonic()

    async def recv(self) -> VideoFrame:
        due = self._start + self._count / FPS
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        noisy = np.clip(self._luma + self._rng.integers(-2, 3, self._luma.shape), 0, 255)
        yuv = np.full((360, 320), 128, dtype=np.uint8)
        yuv[:240] = noisy.astype(np.uint8)
        frame = VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = round(self._count * 90_000 / FPS)
        frame.time_base = fractions.Fraction(1, 90_000)
        self._count += 1
        return frame


async def test_face_seen_is_kept_with_the_checkin_outcome(care: CareServer) -> None:
    """The nurse calls Aino, whose camera shows a face, and records her evening medicine as
    taken: the evidence says a face was seen, from analysed frames, and holds no image."""
    server = care.server
    insight = server.services.insight
    assert insight is not None
    aino = Client(
        id="aino-evidence",
        first_name="Aino",
        last_name="Testinen",
        settings=ClientSettings(language=Language.EN),
    )
    await server.services.store.add_client(aino)
    checkin_id = await care.medicine_at_18(aino)
    tablet = HeadlessTablet(
        server.url, await server.enrol_tablet(aino), video_factory=FaceCamera, answer_after_s=0
    )
    nurse = InsightNurse(server.url, "nurse1", NURSE_PASSWORD)
    await tablet.start()
    await nurse.start()
    try:
        call_id = await nurse.call(aino.id)
        assert nurse.peer is not None and nurse.signal is not None
        await nurse.peer.wait_for_video_frames(5, timeout=15)
        deadline = time.monotonic() + 20
        while (sight := insight.camera(call_id)) is None or not sight.face_seen:
            assert time.monotonic() < deadline, "no face seen in 20 s"
            await asyncio.sleep(0.2)
        await nurse.signal.send(CheckinRecord(checkin_id=checkin_id, outcome="taken"))
        deadline = time.monotonic() + 10
        while (evidence := await insight.face_evidence(checkin_id)) is None:
            assert time.monotonic() < deadline, "no evidence stored"
            await asyncio.sleep(0.2)
        assert evidence.face_seen is True
        assert evidence.session_id == call_id and evidence.client_id == aino.id
        assert evidence.frames_analysed >= 1
        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 10)
    finally:
        await nurse.stop()
        await tablet.stop()
