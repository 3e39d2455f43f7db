"""The family circle in Chromium: a nurse adds a relative, the relative's page calls a headless
tablet with real video both ways, a nurse's call takes precedence, and a revoked link dies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect

from care_sessions.auth import staff_principal
from care_sessions.consent import ConsentPurpose
from care_sessions.family import HELSINKI
from care_sessions.identity import Client, ClientSettings, Language, QuietHours
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.web.browser import (
    DASHBOARD_VIEWPORT,
    screenshot,
    sign_in,
    video_stats,
    wait_for_decoded_frames,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


async def _consenting_client(server: RunningServer, **settings: object) -> Client:
    client = await server.add_client("Aino")
    if settings:
        changed = ClientSettings(language=Language.EN, **settings)  # type: ignore[arg-type]
        await server.services.store.update_client_settings(client.id, changed)
    assert server.admin is not None
    await server.services.consents.decide(
        client.id, ConsentPurpose.FAMILY_CALLS, True, staff_principal(server.admin)
    )
    return client


async def test_a_relative_calls_from_the_link_and_a_nurse_call_takes_over(
    server: RunningServer, browser: Browser
) -> None:
    aino = await _consenting_client(server)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino), answer_after_s=0.3)
    nurse = HeadlessNurse(server.url, "nurse2", NURSE_PASSWORD)
    await tablet.start()
    await nurse.start()
    staff = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    family = await browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        staff_page = await staff.new_page()
        await sign_in(staff_page, server.url, "nurse1", NURSE_PASSWORD)
        await staff_page.goto(f"{server.url}/admin/clients/{aino.id}/family")
        await staff_page.get_by_label("Name").fill("Anna")
        await staff_page.get_by_label("Relation").fill("daughter")
        await staff_page.get_by_role("button", name="Add and create link").click()
        link = await staff_page.locator("#family-link").input_value()
        assert link.startswith(f"{server.url}/family#")
        await screenshot(staff_page, "family-contacts")

        page = await family.new_page()
        await page.goto(link)
        call_button = page.get_by_role("button", name="Call Aino")
        await expect(call_button).to_be_visible(timeout=10_000)
        await screenshot(page, "family-ready")
        await call_button.click()
        await expect(page.locator("body")).to_have_attribute("data-state", "in-call")
        await wait_for_decoded_frames(page, "familyCall", 15, timeout_ms=15_000)
        assert tablet.peer is not None
        await tablet.peer.wait_for_video_frames(15, timeout=15)
        assert (await video_stats(page, "familyCall"))["framesSent"] > 0
        await screenshot(page, "family-call")

        care_call = await nurse.call(aino.id)
        await expect(page.locator("#family-message")).to_have_text(
            "The nurse is calling Aino now. Please call again later.", timeout=10_000
        )
        await expect(page.locator("body")).to_have_attribute("data-end-reason", "preempted")
        await nurse.accepted.wait()
        assert tablet.call_id == care_call
        await screenshot(page, "family-preempted")

        # Revoking the link on the staff page closes the relative's page for good.
        await staff_page.goto(f"{server.url}/admin/clients/{aino.id}/family")
        await staff_page.get_by_role("button", name="Revoke the link of Anna").click()
        await expect(staff_page.get_by_role("status")).to_contain_text("revoked")
        await expect(page.locator("#family-title")).to_have_text(
            "This call link is not valid any more", timeout=10_000
        )
        again = await family.new_page()
        await again.goto(link)
        await expect(again.locator("#family-title")).to_have_text(
            "This call link is not valid any more", timeout=10_000
        )
        await expect(again.get_by_role("button", name="Call Aino")).to_be_hidden()
    finally:
        await family.close()
        await staff.close()
        await nurse.stop()
        await tablet.stop()


async def test_the_family_page_says_when_the_client_is_resting(
    server: RunningServer, browser: Browser
) -> None:
    now = datetime.now(UTC).astimezone(HELSINKI)
    quiet = QuietHours((now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time())
    aino = await _consenting_client(server, quiet_hours=quiet)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino), answer_after_s=0)
    await tablet.start()
    invitation = await server.services.family.invite(
        aino, "Anna", "daughter", staff_principal(server.nurses[0])
    )
    context = await browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/family#{invitation.token}")
        await page.get_by_role("button", name="Call Aino").click()
        await expect(page.locator("#family-message")).to_contain_text(
            f"Aino is resting now (quiet hours {quiet.label()})", timeout=10_000
        )
        await expect(page.locator("body")).to_have_attribute("data-end-reason", "quiet_hours")
        assert tablet.log.incoming == []
    finally:
        await context.close()
        await tablet.stop()
