"""media.restart in the browser: when a call's media moves to another server (a failover,
docs/scaleout.md), the dashboard drops its peer connection and offers again, unprompted."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from protocol.messages import CallMedia, ServerMessage
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.web.browser import DASHBOARD_VIEWPORT, sign_in, wait_for_decoded_frames

pytestmark = pytest.mark.browser


class _Tablet(HeadlessTablet):
    """Notes every "media connected" the server reports, per participant."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.connected_events: list[str] = []

    async def _on_message(self, message: ServerMessage) -> None:
        if isinstance(message, CallMedia) and message.state == "connected":
            self.connected_events.append(message.subject_id)
        await super()._on_message(message)


async def test_the_dashboard_offers_again_on_media_restart(
    server: RunningServer, browser: Browser
) -> None:
    aino = await server.add_client("Aino")
    nurse_id = server.nurses[0].id
    tablet = _Tablet(server.url, await server.enrol_tablet(aino), answer_after_s=0.3)
    await tablet.start()
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    try:
        await sign_in(page, server.url, "nurse1", NURSE_PASSWORD)
        await page.get_by_role("button", name="Call Aino T.").click()
        await expect(page.locator("#call-panel")).to_have_attribute(
            "data-state", "connected", timeout=10_000
        )
        await wait_for_decoded_frames(page, "hoivaDashboard", 10, timeout_ms=15_000)
        for _ in range(100):
            if tablet.connected_events.count(nurse_id) == 1:
                break
            await asyncio.sleep(0.05)
        assert tablet.connected_events.count(nurse_id) == 1

        call = server.services.signaling.calls.call_of(nurse_id)
        assert call is not None
        await server.services.signaling.calls.tell_restart(call, nurse_id)
        # A second media connection of the nurse's: the page offered again by itself.
        for _ in range(200):
            if tablet.connected_events.count(nurse_id) == 2:
                break
            await asyncio.sleep(0.05)
        assert tablet.connected_events.count(nurse_id) == 2
        assert tablet.peer is not None
        before = sum(tablet.peer.stats.video_frames.values())
        await tablet.peer.wait_for_video_frames(before + 15, timeout=15)
        await wait_for_decoded_frames(page, "hoivaDashboard", 10, timeout_ms=15_000)
        await expect(page.locator("#call-panel")).to_have_attribute("data-state", "connected")
    finally:
        await context.close()
        await tablet.stop()
