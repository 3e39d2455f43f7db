"""Check-ins in Chromium: the kiosk's reminder screen in three languages, and the nurse's
dashboard with its task queue, attention list and the outcome form beside the video."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, expect

from care_sessions.attention import FlagAction, RaisedFlag
from care_sessions.care_plans import Outcome
from care_sessions.checkins import CheckinStatus
from care_sessions.identity import Client, ClientSettings, Language
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD
from tests.integration.test_checkins_e2e import DAY, CareServer, care
from tests.web.browser import (
    DASHBOARD_VIEWPORT,
    KIOSK_LANDSCAPE,
    chromium,
    require_browser_environment,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser
__all__ = ["care"]  # the fixture, shared with the end-to-end tests


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_browser_environment()
    async with chromium() as launched:
        yield launched


async def _kiosk(browser: Browser, server_url: str, token: str) -> Page:
    context = await browser.new_context(viewport=KIOSK_LANDSCAPE)
    await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    page = await context.new_page()
    await page.goto(f"{server_url}/tablet")
    await expect(page.locator("#screen-idle")).to_be_visible(timeout=10_000)
    return page


async def _client(care: CareServer, name: str, language: Language) -> Client:
    client = await care.server.add_client(name)
    await care.server.services.store.update_client_settings(
        client.id, ClientSettings(language=language)
    )
    return client


async def test_kiosk_reminder_in_finnish_swedish_and_english(
    care: CareServer, browser: Browser
) -> None:
    server = care.server
    people = {
        Language.FI: await _client(care, "Aino", Language.FI),
        Language.SV: await _client(care, "Brita", Language.SV),
        Language.EN: await _client(care, "Margaret", Language.EN),
    }
    pages = {
        lang: await _kiosk(browser, server.url, await server.enrol_tablet(client))
        for lang, client in people.items()
    }
    ids = {lang: await care.medicine_at_18(client) for lang, client in people.items()}
    expected = {
        Language.FI: (
            "Lääkkeen aika (evening medicine): Metformin 500 mg",
            "Olen ottanut sen",
            "Soita hoitajalle",
        ),
        Language.SV: (
            "Dags för medicinen (evening medicine): Metformin 500 mg",
            "Jag har tagit den",
            "Ring vårdaren",
        ),
        Language.EN: (
            "Time for your evening medicine: Metformin 500 mg",
            "I have taken it",
            "Call nurse",
        ),
    }
    try:
        await care.at(17, 30)
        for lang, page in pages.items():
            title, confirm, help_text = expected[lang]
            await expect(page.locator("#screen-reminder")).to_be_visible()
            await expect(page.locator("#reminder-title")).to_have_text(title)
            await expect(page.get_by_role("button", name=confirm)).to_be_visible()
            await expect(page.get_by_role("button", name=help_text).last).to_be_visible()
        await screenshot(pages[Language.EN], "kiosk-reminder")

        # Aino taps the big button: done, and the kiosk thanks her.
        await pages[Language.FI].get_by_role("button", name="Olen ottanut sen").click()
        await expect(pages[Language.FI].locator("#idle-notice")).to_have_text(
            "Kiitos! Merkitty tehdyksi."
        )
        done = await care.service.store.checkin(ids[Language.FI])
        assert done is not None and (done.status, done.outcome) == (
            CheckinStatus.DONE,
            Outcome.TAKEN,
        )

        # Brita says "not now": the reminder waits behind a button on the idle screen.
        await pages[Language.SV].get_by_role("button", name="Inte nu").click()
        await expect(
            pages[Language.SV].get_by_role("button", name="Du har en påminnelse")
        ).to_be_visible()

        # Margaret does nothing: at 18:30 her tablet rings again.
        await care.at(18, 30)
        await expect(pages[Language.EN].locator("#screen-reminder")).to_have_class(
            "screen screen-reminder ringing"
        )
        await expect(pages[Language.SV].locator("#screen-reminder")).to_be_visible()
        assert await pages[Language.EN].evaluate("() => window.hoivaKiosk.reminders") == [
            ids[Language.EN]
        ]
        # "Call nurse" on the reminder puts her in the help queue.
        await pages[Language.EN].locator("#reminder-help").click()
        await expect(pages[Language.EN].locator("#help-status-text")).to_have_text(
            "A nurse will call you soon."
        )
        [request] = await server.services.store.open_help_requests()
        assert request.client_id == people[Language.EN].id
    finally:
        for page in pages.values():
            await page.context.close()


async def test_dashboard_tasks_flags_and_outcome_form(care: CareServer, browser: Browser) -> None:
    server = care.server
    eino = await server.add_client("Eino", auto_answer=True, after_s=0)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(eino), reminders="ignore")
    await tablet.start()
    checkin_id = await care.medicine_at_18(eino)
    [flag] = await care.service.store.add_flags(
        [
            RaisedFlag(
                eino.id, "missed_same_time", "3 check-ins at 18:00 missed in the last 14 days"
            )
        ],
        care.clock.now(),
    )
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    try:
        await sign_in(page, server.url, "nurse1", NURSE_PASSWORD)
        await expect(page.locator(f'li.client[data-client-id="{eino.id}"]')).to_have_attribute(
            "data-status", "online"
        )
        flag_item = page.locator(f'li.flag-item[data-flag-id="{flag.id}"]')
        await expect(flag_item).to_contain_text("3 check-ins at 18:00 missed in the last 14 days")
        # The nurse knows why: dismissed with a note (before the next review clears it).
        await flag_item.get_by_label("Dismiss flag for Eino T.: note").fill(
            "evening nurse visit moved to 19:00"
        )
        await flag_item.get_by_role("button", name="Dismiss flag for Eino T.").click()
        await expect(page.locator("li.flag-item")).to_have_count(0)
        stored = await care.service.store.flag(flag.id)
        assert stored is not None
        assert (stored.action, stored.note, stored.resolved_by) == (
            FlagAction.DISMISSED,
            "evening nurse visit moved to 19:00",
            server.nurses[0].id,
        )
        day_item = page.locator(f'li.day-item[data-checkin-id="{checkin_id}"]')
        await expect(day_item).to_have_attribute("data-status", "scheduled")

        for hh, mm in ((17, 30), (18, 30), (18, 40), (18, 50)):
            await care.at(hh, mm)
        task = page.locator("li.task-item")
        await expect(task).to_contain_text(
            "Eino T. has not confirmed the 18:00 evening medicine; "
            "tablet online, rang without an answer"
        )
        await expect(day_item).to_have_attribute("data-status", "escalated")
        await expect(page.locator("#help-toast")).to_contain_text("Eino T. has not confirmed")

        await page.get_by_role("button", name="Call Eino T. about the task").click()
        await expect(page.locator("#call-panel")).to_have_attribute(
            "data-state", "connected", timeout=10_000
        )
        form = page.locator(f'form.outcome-form[data-checkin-id="{checkin_id}"]')
        await expect(page.locator("#outcome-title")).to_have_text("Check-ins for Eino T. today")
        await form.get_by_label("Outcome", exact=True).select_option("taken")
        await form.get_by_label("Note").fill("took it late, after the call")
        await screenshot(page, "dashboard-checkins")
        await form.get_by_role("button", name="Save outcome of 18:00 evening medicine").click()
        await expect(form.locator(".outcome-result")).to_have_text("Recorded: taken")
        await expect(page.locator("li.task-item")).to_have_count(0)
        await expect(day_item).to_have_attribute("data-status", "done")

        final = await care.service.store.outcome(checkin_id)
        assert final is not None and final.recorded_role == "nurse"
        await page.get_by_role("button", name="End call").click()
    finally:
        await context.close()
        await tablet.stop()
    assert DAY.isoformat() in checkin_id
