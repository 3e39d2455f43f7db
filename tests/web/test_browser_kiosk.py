"""The kiosk page in Chromium: enrollment by pairing code, ringing, answering, revocation."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from playwright.async_api import Browser, Page, WebSocketRoute, expect

from care_sessions.identity import ClientSettings, Language
from care_sessions.records import EndReason
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.web.browser import (
    DASHBOARD_VIEWPORT,
    KIOSK_LANDSCAPE,
    KIOSK_PORTRAIT,
    screenshot,
    sign_in,
    video_stats,
    wait_for_decoded_frames,
)

pytestmark = pytest.mark.browser


async def issue_code_from_admin_page(page: Page, base_url: str, client_name: str) -> str:
    await sign_in(page, base_url, "admin", ADMIN_PASSWORD)
    await expect(page).to_have_url(f"{base_url}/admin")
    await screenshot(page, "admin")
    await page.get_by_role("button", name=f"New pairing code for {client_name}").click()
    code = (await page.locator("#pairing-code").inner_text()).strip()
    await screenshot(page, "admin-pairing-code")
    return code


async def test_kiosk_enrolls_answers_and_is_revoked(
    server: RunningServer, browser: Browser
) -> None:
    """The whole life of a kiosk: paired by code, rings, answered by a tap with video both
    ways, hung up from the tablet, then revoked back to the enrollment screen."""
    client = await server.add_client("Aino")
    await server.services.store.update_client_settings(
        client.id, ClientSettings(language=Language.FI)
    )
    await server.enrol_tablet(await server.add_client("Eino", auto_answer=True, after_s=10))
    admin_context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    kiosk_context = await browser.new_context(viewport=KIOSK_LANDSCAPE, locale="fi-FI")
    nurse = HeadlessNurse(server.url, "nurse1", NURSE_PASSWORD)
    try:
        code = await issue_code_from_admin_page(
            await admin_context.new_page(), server.url, "Aino Testinen"
        )

        kiosk = await kiosk_context.new_page()
        await kiosk.goto(f"{server.url}/tablet")
        await expect(kiosk.locator("#screen-enroll")).to_be_visible()
        await expect(kiosk.locator("#enroll-title")).to_have_text("Ota tabletti käyttöön")
        await kiosk.get_by_label("Käyttöönottokoodi").fill("WRON-GCOD")
        await kiosk.get_by_role("button", name="Ota käyttöön").click()
        await expect(kiosk.locator("#enroll-message")).to_contain_text("Koodi on väärä")
        await kiosk.get_by_label("Käyttöönottokoodi").fill(code.replace("-", "").lower())
        await expect(kiosk.get_by_label("Käyttöönottokoodi")).to_have_value(code)
        await kiosk.get_by_label("Tabletin nimi (vapaaehtoinen)").fill("Olohuone")
        await screenshot(kiosk, "kiosk-enrollment")
        await kiosk.get_by_role("button", name="Ota käyttöön").click()

        await expect(kiosk.locator("#screen-idle")).to_be_visible(timeout=10_000)
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hei, Aino!")
        await expect(kiosk.get_by_role("button", name="Soita hoitajalle")).to_be_visible()
        token = await kiosk.evaluate("() => localStorage.getItem('hoiva.tablet.token')")
        assert token
        [device] = await server.services.store.devices_for_client(client.id)
        assert device.label == "Olohuone"
        await screenshot(kiosk, "kiosk-idle")
        await kiosk.set_viewport_size(KIOSK_PORTRAIT)
        await screenshot(kiosk, "kiosk-idle-portrait")
        await kiosk.set_viewport_size(KIOSK_LANDSCAPE)

        await nurse.start()
        call_id = await nurse.call(client.id)
        await expect(kiosk.locator("#screen-ringing")).to_be_visible()
        await expect(kiosk.locator("#ring-caller")).to_have_text("Nurse1 soittaa")
        await expect(kiosk.locator("#ring-countdown")).to_be_hidden()
        await screenshot(kiosk, "kiosk-ringing")
        await kiosk.get_by_role("button", name="Vastaa").click()

        await expect(kiosk.locator("#screen-call")).to_be_visible()
        await asyncio.wait_for(nurse.accepted.wait(), 5)
        await wait_for_decoded_frames(kiosk, "hoivaKiosk", 20, timeout_ms=15_000)
        assert nurse.peer is not None
        await nurse.peer.wait_for_video_frames(20, timeout=15)
        stats = await video_stats(kiosk, "hoivaKiosk")
        assert stats["framesDecoded"] >= 20 and stats["framesSent"] > 0
        await expect(kiosk.locator("#call-status")).to_have_text("Puhelu on auki")
        await screenshot(kiosk, "kiosk-call")

        await kiosk.get_by_role("button", name="Lopeta puhelu").click()
        await asyncio.wait_for(nurse.ended.wait(), 5)
        await expect(kiosk.locator("#screen-idle")).to_be_visible()
        record = await server.services.store.session(call_id)
        assert record is not None
        assert record.end_reason is EndReason.COMPLETED
        assert record.ended_by == client.id

        services = server.services
        await services.store.revoke_device(device.id, services.clock.now())
        await services.signaling.disconnect_device(device.id)
        await expect(kiosk.locator("#screen-enroll")).to_be_visible()
        await expect(kiosk.locator("#enroll-message")).to_have_text(
            "Tabletti pitää ottaa uudelleen käyttöön."
        )
        assert await kiosk.evaluate("() => localStorage.getItem('hoiva.tablet.token')") is None
    finally:
        await nurse.stop()
        await admin_context.close()
        await kiosk_context.close()


async def test_kiosk_auto_answers_with_a_countdown(server: RunningServer, browser: Browser) -> None:
    """With auto-answer on, the kiosk counts down and answers by itself, in English here."""
    client = await server.add_client("Margaret", auto_answer=True, after_s=2)
    token = await server.enrol_tablet(client)
    context = await browser.new_context(viewport=KIOSK_PORTRAIT)
    await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    nurse = HeadlessNurse(server.url, "nurse2", NURSE_PASSWORD)
    try:
        kiosk = await context.new_page()
        await kiosk.goto(f"{server.url}/tablet")
        # The greeting is filled from /api/tablet/me before the socket is up; the idle
        # screen only shows after the welcome.
        await expect(kiosk.locator("#screen-idle")).to_be_visible()
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hello, Margaret!")
        await nurse.start()
        await nurse.call(client.id)
        countdown = kiosk.locator("#ring-countdown")
        await expect(countdown).to_be_visible()
        await expect(countdown).to_contain_text("Answering automatically in")
        await expect(kiosk.locator("#screen-call")).to_be_visible(timeout=5_000)
        await asyncio.wait_for(nurse.accepted.wait(), 5)
        await wait_for_decoded_frames(kiosk, "hoivaKiosk", 5, timeout_ms=15_000)
    finally:
        await nurse.stop()
        await context.close()


async def test_help_request_taken_from_the_dashboard(
    server: RunningServer, browser: Browser
) -> None:
    """Kiosk presses "Call nurse", the dashboard is notified, Take rings the kiosk, and two
    real browsers see each other's camera through Hoiva's media server."""
    client = await server.add_client("Brita")
    await server.services.store.update_client_settings(
        client.id, ClientSettings(language=Language.SV)
    )
    token = await server.enrol_tablet(client)
    kiosk_context = await browser.new_context(viewport=KIOSK_LANDSCAPE)
    await kiosk_context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    nurse_context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    try:
        dashboard = await nurse_context.new_page()
        await sign_in(dashboard, server.url, "nurse1", NURSE_PASSWORD)
        kiosk = await kiosk_context.new_page()
        await kiosk.goto(f"{server.url}/tablet")
        # The greeting is filled from /api/tablet/me before the socket is up; the idle
        # screen only shows after the welcome.
        await expect(kiosk.locator("#screen-idle")).to_be_visible()
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hej, Brita!")

        await kiosk.get_by_role("button", name="Ring vårdaren").click()
        await expect(kiosk.locator("#help-status-text")).to_have_text(
            "En vårdare ringer dig snart."
        )
        await expect(kiosk.get_by_role("button", name="Ring vårdaren")).to_be_disabled()
        await expect(dashboard.locator("#help-toast")).to_contain_text("Brita T.")
        await dashboard.get_by_role("button", name="Take help request from Brita T.").click()
        await expect(dashboard.locator("#help-list li")).to_have_count(0)

        await expect(kiosk.locator("#screen-ringing")).to_be_visible()
        await kiosk.get_by_role("button", name="Svara").click()
        await wait_for_decoded_frames(kiosk, "hoivaKiosk", 20, timeout_ms=15_000)
        await wait_for_decoded_frames(dashboard, "hoivaDashboard", 20, timeout_ms=15_000)
        await expect(dashboard.locator("#call-panel")).to_have_attribute("data-state", "connected")

        await dashboard.get_by_role("button", name="End call").click()
        await expect(kiosk.locator("#screen-idle")).to_be_visible()
        await expect(kiosk.locator("#idle-notice")).to_have_text("Samtalet avslutades.")
        await expect(kiosk.locator("#help-status")).to_be_hidden()
        [record] = await server.services.store.recent_sessions(5)
        assert record.kind == "help_call"
    finally:
        await kiosk_context.close()
        await nurse_context.close()


async def test_kiosk_reconnects_with_backoff(server: RunningServer, browser: Browser) -> None:
    """While the server is unreachable the kiosk shows a calm "Connecting…" and retries
    1 s, 2 s, 4 s apart (each with jitter) until it is back."""
    client = await server.add_client("Toivo")
    await server.services.store.update_client_settings(
        client.id, ClientSettings(language=Language.FI)
    )
    token = await server.enrol_tablet(client)
    context = await browser.new_context(viewport=KIOSK_LANDSCAPE, locale="fi-FI")
    await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    attempts: list[float] = []
    refusals = 3

    async def route(ws: WebSocketRoute) -> None:
        attempts.append(time.monotonic())
        if len(attempts) <= refusals:
            await ws.close(code=1011, reason="test: server unavailable")
        else:
            ws.connect_to_server()

    try:
        kiosk = await context.new_page()
        await kiosk.route_web_socket("**/ws", route)
        await kiosk.goto(f"{server.url}/tablet")
        await expect(kiosk.locator("#screen-connecting")).to_be_visible()
        await expect(kiosk.locator("#connecting-title")).to_have_text("Yhdistetään…")
        await screenshot(kiosk, "kiosk-connecting")
        await expect(kiosk.locator("#screen-idle")).to_be_visible(timeout=15_000)
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hei, Toivo!")
        gaps = [later - earlier for earlier, later in itertools.pairwise(attempts)]
        assert len(gaps) == refusals
        for gap, (low, high) in zip(gaps, [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0)], strict=True):
            assert low * 0.9 <= gap <= high + 0.5, gaps
        assert await kiosk.evaluate("() => localStorage.getItem('hoiva.tablet.token')") == token
    finally:
        await context.close()
