"""The client's own "who has seen my information" screen on the kiosk, in Chromium."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from care_sessions.identity import ClientSettings, Language
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.web.browser import KIOSK_LANDSCAPE, screenshot
from tests.web.staff_client import StaffBrowser

pytestmark = pytest.mark.browser


async def test_kiosk_lists_who_has_seen_the_clients_data(
    server: RunningServer, browser: Browser
) -> None:
    client = await server.add_client("Aino")
    await server.services.store.update_client_settings(
        client.id, ClientSettings(language=Language.EN)
    )
    token = await server.enrol_tablet(client)
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        assert (await nurse.get(f"/admin/clients/{client.id}/privacy")).status == 200

    context = await browser.new_context(viewport=KIOSK_LANDSCAPE)
    try:
        await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', {token!r});")
        kiosk = await context.new_page()
        await kiosk.goto(f"{server.url}/tablet")
        await expect(kiosk.locator("#screen-idle")).to_be_visible(timeout=10_000)
        await kiosk.get_by_role("button", name="Who has seen my information?").click()
        await expect(kiosk.locator("#screen-privacy")).to_be_visible()
        items = kiosk.locator("#privacy-list li")
        await expect(items.first).to_be_visible()
        texts = await items.all_inner_texts()
        assert any("Nurse Nurse1 viewed your consents (care)." in text for text in texts)
        await screenshot(kiosk, "kiosk-privacy")
        await kiosk.get_by_role("button", name="Back").click()
        await expect(kiosk.locator("#screen-idle")).to_be_visible()
    finally:
        await context.close()
