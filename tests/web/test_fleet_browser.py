"""The fleet page in Chromium, with real headless tablets and a real kiosk page.

Live heartbeats and offline alerts appear without a reload; settings saved on the page reach
a tablet within the issue's 2 s and a kiosk applies them; self-tests (failing and passing)
and remote reload work from the page's buttons; a QR link pairs a kiosk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from care_sessions.identity import Client, ClientSettings, Language
from tablet_client.headless import HeadlessTablet
from tests.conftest import ADMIN_PASSWORD, RunningServer, make_config, serving
from tests.web.browser import DASHBOARD_VIEWPORT, KIOSK_LANDSCAPE, screenshot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
async def fleet_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """Heartbeats every 0.5 s and an offline alert after 3 s, so a test can watch both."""
    config = make_config(
        tmp_path,
        **{
            "fleet.heartbeat_s": 0.5,
            "fleet.offline_alert_after_s": 3.0,
            "fleet.offline_check_s": 0.25,
        },
    )
    async with serving(config) as running:
        yield running


async def _fleet_page(browser: Browser, server: RunningServer) -> Page:
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    await sign_in(page, server.url, "admin", ADMIN_PASSWORD)
    await page.goto(f"{server.url}/admin/fleet")
    await page.wait_for_function("() => window.hoivaFleet && window.hoivaFleet.connected")
    # Set once: if anything reloaded the page, this would be gone.
    await page.evaluate("() => { window.__fleetPageMark = 42; }")
    return page


async def _kiosk(browser: Browser, server: RunningServer, token: str) -> Page:
    context = await browser.new_context(viewport=KIOSK_LANDSCAPE)
    await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    page = await context.new_page()
    await page.goto(f"{server.url}/tablet")
    await expect(page.locator("#screen-idle")).to_be_visible(timeout=10_000)
    return page


async def _device_id(server: RunningServer, client: Client) -> str:
    devices = await server.services.store.devices_for_client(client.id)
    return next(device.id for device in devices if not device.revoked)


def _cell(page: Page, device_id: str, field: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#device-{device_id} [data-field={field}]")


def _decode_qr(png: bytes) -> str:
    import cv2
    import numpy as np

    image = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    # The page scales the code to its layout, so module edges are anti-aliased at fractional
    # widths, and OpenCV's detector misses about 1 in 100 such images (segno codes of these
    # links scaled to 240-262 px: 2 of 200; 0 of 200 once sharpened and enlarged).
    _, sharp = cv2.threshold(image, 128, 255, cv2.THRESH_BINARY)
    enlarged = cv2.resize(sharp, None, fx=3, fy=3, interpolation=cv2.INTER_NEAREST)
    detector = cv2.QRCodeDetector()
    for candidate in (image, sharp, enlarged):
        text, _, _ = detector.detectAndDecode(candidate)
        if text:
            return str(text)
    raise AssertionError("no QR code could be read from the page")


async def _not_reloaded(page: Page) -> None:
    assert await page.evaluate("() => window.__fleetPageMark") == 42


async def test_fleet_page_shows_live_heartbeats_and_offline_alerts(
    fleet_server: RunningServer, browser: Browser
) -> None:
    server = fleet_server
    aino, eino = await server.add_client("Aino"), await server.add_client("Eino")
    aino_tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    eino_token = await server.enrol_tablet(eino)
    eino_tablet = HeadlessTablet(server.url, eino_token, camera=False)
    aino_tablet.device.battery_pct = 76
    eino_tablet.device.connection_type = "wifi"
    page = await _fleet_page(browser, server)
    try:
        aino_id, eino_id = await _device_id(server, aino), await _device_id(server, eino)
        # Paired but silent: listed, offline.
        await expect(_cell(page, aino_id, "state")).to_have_text("Offline")
        await aino_tablet.start()
        await eino_tablet.start()
        await expect(_cell(page, aino_id, "state")).to_have_text("Online")
        await expect(_cell(page, eino_id, "state")).to_have_text("Online")
        await expect(_cell(page, aino_id, "app_version")).to_have_text("hoiva-tablet/0.1")
        await expect(_cell(page, aino_id, "battery")).to_have_text("76 %")
        await expect(_cell(page, aino_id, "camera")).to_have_text("Allowed")
        await expect(_cell(page, eino_id, "camera")).to_have_text("Blocked")
        await expect(_cell(page, eino_id, "connection")).to_contain_text("wifi · good")
        await expect(_cell(page, aino_id, "screen")).to_have_text("On")
        await expect(page.locator("#fleet-summary")).to_have_text("2 tablets, 2 online")

        # The tablet's battery drains and its screen goes off: the page follows.
        aino_tablet.device.battery_pct = 18
        aino_tablet.device.charging = False
        aino_tablet.device.screen = "off"
        await aino_tablet.send_heartbeat()
        await expect(_cell(page, aino_id, "battery")).to_have_text("18 %")
        await expect(_cell(page, aino_id, "screen")).to_have_text("Off")
        await screenshot(page, "fleet")

        # Eino's tablet stops: offline at once, an alert after 3 s of silence.
        await eino_tablet.stop()
        await expect(_cell(page, eino_id, "state")).to_contain_text("Offline")
        alert = page.locator(f"#fleet-alerts li[data-device-id='{eino_id}']")
        await expect(alert).to_contain_text("Eino Testinen", timeout=10_000)
        await expect(page.locator("#alert-count")).to_have_text("1")
        await expect(_cell(page, eino_id, "alert")).to_contain_text("Offline alert")
        await expect(_cell(page, aino_id, "state")).to_have_text("Online")  # no alert for Aino
        await screenshot(page, "fleet-offline-alert")

        # It comes back: the alert clears.
        eino_tablet = HeadlessTablet(server.url, eino_token, camera=False)
        await eino_tablet.start()
        await expect(alert).to_have_count(0)
        await expect(page.locator("#alert-count")).to_have_text("0")
        await expect(_cell(page, eino_id, "state")).to_have_text("Online")
        await _not_reloaded(page)
    finally:
        await page.context.close()
        await aino_tablet.stop()
        await eino_tablet.stop()


async def test_settings_from_the_fleet_page_reach_the_tablet_and_the_kiosk_applies_them(
    server: RunningServer, browser: Browser
) -> None:
    """The issue's bound: a settings change reaches the tablet within 2 s of pressing
    Save. The kiosk page applies text size, volume and language at once."""
    aino, eino = await server.add_client("Aino"), await server.add_client("Eino")
    headless = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    await headless.start()
    kiosk = await _kiosk(browser, server, await server.enrol_tablet(eino))
    page = await _fleet_page(browser, server)
    try:
        await page.locator(f"#settings-{aino.id} summary").click()
        form = page.locator(f"#settings-{aino.id} form.fleet-settings")
        await form.get_by_label("Volume").fill("35")
        await form.get_by_label("Text size").select_option("largest")
        await form.get_by_label("Language").select_option("sv")
        headless.settings_changed.clear()
        started = time.monotonic()
        await page.get_by_role("button", name="Save and send settings for Aino Testinen").click()
        await asyncio.wait_for(headless.settings_changed.wait(), 2.0)
        arrived_at, settings = headless.fleet.settings[-1]
        assert arrived_at - started < 2.0, f"took {arrived_at - started:.2f} s"
        assert (settings.volume, settings.text_size, settings.language) == (35, "largest", "sv")
        await expect(page.locator(".alert-ok")).to_have_text(
            "Settings saved and sent to the tablet."
        )

        # Eino's kiosk page: text size, volume and language follow without a touch.
        assert await kiosk.evaluate("() => window.hoivaKiosk.volume") == 80
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hello, Eino!")
        small = await kiosk.evaluate(
            "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"
        )
        await page.locator(f"#settings-{eino.id} summary").click()
        eino_form = page.locator(f"#settings-{eino.id} form.fleet-settings")
        await eino_form.get_by_label("Volume").fill("20")
        await eino_form.get_by_label("Text size").select_option("largest")
        await eino_form.get_by_label("Language").select_option("fi")
        await page.get_by_role("button", name="Save and send settings for Eino Testinen").click()
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hei, Eino!")
        await expect(kiosk.locator("html")).to_have_attribute("data-text-size", "largest")
        assert await kiosk.evaluate("() => window.hoivaKiosk.volume") == 20
        large = await kiosk.evaluate(
            "() => parseFloat(getComputedStyle(document.documentElement).fontSize)"
        )
        assert large > small * 1.2
        await screenshot(kiosk, "kiosk-largest-text")
    finally:
        await page.context.close()
        await kiosk.context.close()
        await headless.stop()


async def test_self_tests_and_reload_from_the_fleet_page(
    server: RunningServer, browser: Browser
) -> None:
    """A tablet without a camera fails its self-test, one with passes, a kiosk runs the
    browser's checks; Reload reloads a kiosk page and reaches a headless tablet."""
    aino, eino, kalle = (
        await server.add_client("Aino"),
        await server.add_client("Eino"),
        await server.add_client("Kalle"),
    )
    with_camera = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    without_camera = HeadlessTablet(server.url, await server.enrol_tablet(eino), camera=False)
    await with_camera.start()
    await without_camera.start()
    kiosk = await _kiosk(browser, server, await server.enrol_tablet(kalle))
    page = await _fleet_page(browser, server)
    try:
        aino_id, eino_id, kalle_id = (
            await _device_id(server, aino),
            await _device_id(server, eino),
            await _device_id(server, kalle),
        )
        await expect(_cell(page, kalle_id, "state")).to_have_text("Online")
        await expect(_cell(page, eino_id, "selftest")).to_have_text("Not run yet")
        await page.get_by_role("button", name="Self-test Tablet of Eino Testinen").click()
        failed = _cell(page, eino_id, "selftest")
        await expect(failed.locator("strong")).to_have_text("Failed", timeout=20_000)
        await expect(failed.locator("li[data-check=camera]")).to_have_text(
            "Camera: fail (no camera)"
        )
        await expect(failed.locator("li[data-check=turn]")).to_have_text(
            "TURN: skipped (not configured)"
        )

        await page.get_by_role("button", name="Self-test Tablet of Aino Testinen").click()
        passed = _cell(page, aino_id, "selftest")
        await expect(passed.locator("strong")).to_have_text("Passed", timeout=20_000)
        await expect(passed.locator("li[data-outcome=fail]")).to_have_count(0)

        # The kiosk page checks the browser's own camera, microphone, speaker and network.
        await page.get_by_role("button", name="Self-test Tablet of Kalle Testinen").click()
        browser_run = _cell(page, kalle_id, "selftest")
        await expect(browser_run.locator("strong")).to_have_text("Passed", timeout=30_000)
        for check in ("camera", "microphone", "speaker", "media_server"):
            await expect(browser_run.locator(f"li[data-check={check}]")).to_have_attribute(
                "data-outcome", "pass"
            )
        # The media server check is an echo test: the page's test picture came back.
        await expect(browser_run.locator("li[data-check=media_server]")).to_contain_text("echo in")
        await screenshot(page, "fleet-selftest")

        # Reload: the kiosk page loads again (its mark is gone) and comes back online.
        await kiosk.evaluate("() => { window.__kioskMark = 7; }")
        await page.get_by_role("button", name="Reload Tablet of Kalle Testinen").click()
        await kiosk.wait_for_function("() => window.__kioskMark === undefined", timeout=10_000)
        await expect(kiosk.locator("#screen-idle")).to_be_visible(timeout=10_000)
        await page.get_by_role("button", name="Reload Tablet of Aino Testinen").click()
        await asyncio.wait_for(with_camera.reload_requested.wait(), 5)
        await expect(_cell(page, aino_id, "note")).to_have_text("Reload sent.")
        assert without_camera.fleet.reloads == 0
        await _not_reloaded(page)
    finally:
        await page.context.close()
        await kiosk.context.close()
        await with_camera.stop()
        await without_camera.stop()


async def test_a_kiosk_opened_from_the_qr_link_pairs_itself(
    server: RunningServer, browser: Browser
) -> None:
    aino = await server.add_client("Aino")
    await server.services.store.update_client_settings(
        aino.id, ClientSettings(language=Language.EN)
    )
    page = await _fleet_page(browser, server)
    kiosk_context = await browser.new_context(viewport=KIOSK_LANDSCAPE)
    try:
        await page.get_by_role("button", name="Pair a tablet for Aino Testinen").click()
        qr = page.locator("#pairing-qr")
        await expect(qr.locator("svg")).to_be_visible()
        await screenshot(page, "fleet-pairing-qr")
        code = (await page.locator("#pairing-code").inner_text()).strip()
        # What a tablet's camera would read from the screen: the kiosk link with the code.
        link = _decode_qr(await qr.locator("svg").screenshot())
        assert link == f"{server.url}/tablet?pair={code}"

        kiosk = await kiosk_context.new_page()
        await kiosk.goto(link)
        await expect(kiosk.locator("#screen-idle")).to_be_visible(timeout=10_000)
        await expect(kiosk.locator("#idle-greeting")).to_have_text("Hello, Aino!")
        assert "pair=" not in kiosk.url  # a reload never sends the used code again
        assert await kiosk.evaluate("() => localStorage.getItem('hoiva.tablet.token')")
        [device] = await server.services.store.devices_for_client(aino.id)
        assert not device.revoked
        await kiosk.wait_for_function("() => window.hoivaKiosk.heartbeats > 0")
    finally:
        await page.context.close()
        await kiosk_context.close()
