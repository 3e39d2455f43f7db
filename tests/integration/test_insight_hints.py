"""Camera hints end to end: a tablet's black feed reaches the nurse as "camera dark" in 5 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from media.synthetic import SyntheticVideoTrack
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config, serving
from tests.integration.insight_harness import InsightNurse, light_camera
from tests.integration.test_insight_metrics import samples, scrape


@pytest.fixture
async def insight_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    # "Nobody in view" (synthetic pictures have no face) would follow the dark hint after
    # its own delay; this test is about the dark one.
    async with serving(make_config(tmp_path, **{"insight.no_face_after_s": 600.0})) as running:
        yield running


async def test_black_feed_gives_dark_hint_and_it_clears(insight_server: RunningServer) -> None:
    """Black feed -> call.hint "dark" at the nurse within 5 s of the feed; feed back -> cleared.

    Guards the whole path: the analysis tap on the forwarded packets, keyframe requests, the
    worker-thread decode, the camera rules and the push to the nurse's socket.
    """
    server = insight_server
    client = await server.add_client("Aino")
    cameras: list[SyntheticVideoTrack] = []

    def camera() -> SyntheticVideoTrack:
        cameras.append(light_camera(7, black=True))
        return cameras[-1]

    tablet = HeadlessTablet(
        server.url, await server.enrol_tablet(client), video_factory=camera, answer_after_s=0
    )
    nurse = InsightNurse(server.url, "nurse1", NURSE_PASSWORD, source_id=100)
    await tablet.start()
    await nurse.start()
    try:
        call_id = await nurse.call(client.id)
        assert nurse.peer is not None
        await nurse.peer.wait_for_video_frames(1, timeout=15)
        feed_at = nurse.peer.stats.first_video_frame_at
        assert feed_at is not None

        await nurse.wait_for(lambda: any(h.hint == "dark" for _, h in nurse.hints), 15)
        at, hint = next((at, h) for at, h in nurse.hints if h.hint == "dark")
        assert at - feed_at <= 5.0, f"dark hint after {at - feed_at:.1f} s"
        assert hint.call_id == call_id and hint.subject_id == client.id
        assert hint.text == "Aino's camera is too dark"

        cameras[-1].black = False
        restored_at = time.monotonic()
        await nurse.wait_for(lambda: nurse.hints[-1][1].hint is None, 15)
        cleared_at = nurse.hints[-1][0]
        assert cleared_at - restored_at <= 5.0
        assert nurse.hints[-1][1].text == ""

        # Quality went to the nurse too, for both ends, while the call ran...
        nurse_id = server.nurses[0].id
        await nurse.wait_for(
            lambda: {q.subject_id for q in nurse.quality} >= {client.id, nurse_id}, 10
        )
        assert all(q.call_id == call_id and q.fps > 0 for q in nurse.quality[-2:])
        # ...and into the metrics, which name nobody.
        status, text = await scrape(f"{server.url}/metrics")
        assert status == 200
        values = samples(text)
        assert values["hoiva_calls_active"] == 1.0
        assert values["hoiva_media_participants"] == 2.0
        assert values["hoiva_signaling_connections"] == 2.0
        assert values["hoiva_analysed_calls"] == 1.0
        assert values["hoiva_forwarded_bitrate_bps"] > 0
        assert values["hoiva_call_video_fps_count{participant=client}"] >= 1
        assert values["hoiva_camera_hints_total{hint=dark}"] == 1.0
        for secret in (client.id, "Aino", nurse_id, call_id):
            assert secret not in text
        await nurse.hang_up()
        await asyncio.wait_for(tablet.call_over.wait(), 10)
    finally:
        await nurse.stop()
        await tablet.stop()

    # The session record keeps a quality summary per participant.
    insight = server.services.insight
    assert insight is not None
    deadline = time.monotonic() + 5
    while len(summaries := await insight.quality_summaries(call_id)) < 2:
        assert time.monotonic() < deadline, summaries
        await asyncio.sleep(0.2)
    assert sorted(s.participant for s in summaries) == ["client", "staff"]
    for summary in summaries:
        assert summary.samples >= 1 and summary.fps_avg > 0
        assert summary.level in ("good", "fair", "poor")
