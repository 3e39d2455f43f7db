"""The nurse dashboard in Chromium: sign in, live roster, help queue, a real video call."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from care_sessions.records import EndReason
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.web.browser import (
    DASHBOARD_VIEWPORT,
    screenshot,
    sign_in,
    video_stats,
    wait_for_decoded_frames,
)

pytestmark = pytest.mark.browser


async def test_dashboard_calls_a_headless_tablet(server: RunningServer, browser: Browser) -> None:
    """The page's own getStats() shows decoded video from the tablet, and the tablet
    decodes frames from the browser's camera: media flows both ways through the server."""
    aino = await server.add_client("Aino")
    await server.add_client("Eino")
    helmi = await server.add_client("Helmi")
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino), answer_after_s=0.5)
    asking = HeadlessTablet(server.url, await server.enrol_tablet(helmi))
    await tablet.start()
    await asking.start()
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    try:
        await page.goto(f"{server.url}/login")
        await screenshot(page, "login")
        await sign_in(page, server.url, "nurse1", NURSE_PASSWORD)
        await expect(page).to_have_url(f"{server.url}/dashboard")

        aino_row = page.locator(f'li.client[data-client-id="{aino.id}"]')
        await expect(aino_row).to_have_attribute("data-status", "online")
        await expect(page.get_by_role("button", name="Call Eino T.")).to_be_disabled()

        await asking.request_help()
        await expect(page.locator("#help-toast")).to_contain_text("Helmi T. is asking for help")
        await expect(
            page.get_by_role("button", name="Take help request from Helmi T.")
        ).to_be_enabled()
        await screenshot(page, "dashboard-idle")

        await page.get_by_role("button", name="Call Aino T.").click()
        await expect(page.locator("#call-panel")).to_have_attribute(
            "data-state", "connected", timeout=10_000
        )
        await wait_for_decoded_frames(page, "hoivaDashboard", 20, timeout_ms=15_000)
        assert tablet.peer is not None
        await tablet.peer.wait_for_video_frames(20, timeout=15)
        stats = await video_stats(page, "hoivaDashboard")
        assert stats["framesDecoded"] >= 20
        assert stats["frameWidth"] > 0 and stats["framesSent"] > 0
        await expect(aino_row).to_have_attribute("data-status", "in_call")
        await expect(page.get_by_role("button", name="End call")).to_be_enabled()
        await screenshot(page, "dashboard-call")

        call_id = await page.evaluate("() => window.hoivaDashboard.callId")
        await page.get_by_role("button", name="End call").click()
        await expect(page.locator("#call-status")).to_have_text(
            "Call ended: the call was completed"
        )
        await asyncio.wait_for(tablet.call_over.wait(), 5)
        record = await server.services.store.session(call_id)
        assert record is not None and record.end_reason is EndReason.COMPLETED
        await expect(aino_row).to_have_attribute("data-status", "online")

        await page.get_by_role("link", name="Sessions").click()
        await expect(page.get_by_role("cell", name="Completed")).to_be_visible()
        await screenshot(page, "sessions")
    finally:
        await context.close()
        await tablet.stop()
        await asking.stop()


async def test_mute_and_camera_buttons_toggle(server: RunningServer, browser: Browser) -> None:
    """Mute and Camera off disable the local tracks and say so to assistive technology."""
    aino = await server.add_client("Aino")
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino), answer_after_s=0)
    await tablet.start()
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    try:
        await sign_in(page, server.url, "nurse1", NURSE_PASSWORD)
        await page.get_by_role("button", name="Call Aino T.").click()
        await expect(page.locator("#call-panel")).to_have_attribute(
            "data-state", "connected", timeout=10_000
        )
        mute = page.locator("#mute-button")
        await expect(mute).to_be_enabled()
        await mute.click()
        await expect(mute).to_have_attribute("aria-pressed", "true")
        await expect(mute).to_have_text("Unmute")
        camera = page.locator("#camera-button")
        await camera.click()
        await expect(camera).to_have_attribute("aria-pressed", "true")
        enabled = await page.evaluate(
            """() => [...document.getElementById('local-video').srcObject.getTracks()]
                 .map((t) => `${t.kind}:${t.enabled}`).sort()"""
        )
        assert enabled == ["audio:false", "video:false"]
        await tablet.hang_up()
        await expect(page.locator("#call-status")).to_have_text(
            "Call ended: the call was completed"
        )
        await expect(mute).to_be_disabled()
        await expect(mute).to_have_attribute("aria-pressed", "false")
    finally:
        await context.close()
        await tablet.stop()
