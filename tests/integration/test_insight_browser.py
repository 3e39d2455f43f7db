"""The nurse's call view in Chromium: the camera hint, quality dots and the recording banner."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from care_sessions.auth import staff_principal
from care_sessions.consent import ConsentPurpose
from media.synthetic import SyntheticVideoTrack
from protocol.messages import CallRecording, ServerMessage
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config, serving
from tests.integration.insight_harness import light_camera
from tests.web.browser import (
    DASHBOARD_VIEWPORT,
    chromium,
    require_browser_environment,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_browser_environment()
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def insight_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    config = make_config(
        tmp_path,
        **{
            "insight.recording_key": base64.b64encode(os.urandom(32)).decode(),
            "insight.recordings_dir": str(tmp_path / "recordings"),
            "insight.no_face_after_s": 600.0,
        },
    )
    async with serving(config) as running:
        yield running


class _Tablet(HeadlessTablet):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.recording: list[bool] = []

    async def _on_message(self, message: ServerMessage) -> None:
        if isinstance(message, CallRecording):
            self.recording.append(message.active)
        await super()._on_message(message)


async def test_call_view_shows_hint_quality_and_recording(
    insight_server: RunningServer, browser: Browser
) -> None:
    """A covered-dark tablet camera shows "Aino's camera is too dark" beside the video; the
    quality line appears; Record is refused without consent, then shows the banner."""
    server = insight_server
    assert server.admin is not None
    aino = await server.add_client("Aino")
    cameras: list[SyntheticVideoTrack] = []

    def camera() -> SyntheticVideoTrack:
        cameras.append(light_camera(7, black=True))
        return cameras[-1]

    tablet = _Tablet(
        server.url, await server.enrol_tablet(aino), video_factory=camera, answer_after_s=0
    )
    await tablet.start()
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    try:
        await sign_in(page, server.url, "nurse1", NURSE_PASSWORD)
        await page.get_by_role("button", name="Call Aino T.").click()
        await expect(page.locator("#call-panel")).to_have_attribute(
            "data-state", "connected", timeout=10_000
        )
        hint = page.locator(".insight-hint")
        await expect(hint).to_have_text("Aino's camera is too dark", timeout=10_000)
        await expect(page.locator(".insight-quality")).to_contain_text("Aino T", timeout=10_000)

        record = page.get_by_role("button", name="Record")
        await record.click()
        notice = page.locator(".insight-notice")
        await expect(notice).to_contain_text("needs the client's consent")
        await expect(hint).to_have_text("Aino's camera is too dark")
        await server.services.consents.decide(
            aino.id, ConsentPurpose.RECORDING, True, staff_principal(server.admin)
        )
        await record.click()
        await expect(page.locator(".insight-recording")).to_be_visible(timeout=10_000)
        await expect(notice).to_be_hidden()
        await screenshot(page, "dashboard-insight")
        assert tablet.recording == [True]
        await page.get_by_role("button", name="Stop recording").click()
        await expect(page.locator(".insight-recording")).to_be_hidden(timeout=15_000)

        cameras[-1].black = False
        await expect(hint).to_be_hidden(timeout=10_000)
    finally:
        await context.close()
        await tablet.stop()
