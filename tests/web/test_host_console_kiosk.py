"""The kiosk's meal view in Chromium: invited when the host opens the room, joins with one
touch, sees the table with the host large, is told clearly when muted, leaves with one touch."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from playwright.async_api import Browser, Page, expect

from care_sessions.identity import ClientSettings, Language, Role
from care_sessions.meal_rooms import MealRoom, RoomKind
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_host import HeadlessHost
from tests.conftest import RunningServer
from tests.integration.meal_harness import (
    HOST_PASSWORD,
    HOST_SOURCE,
    lunch_schedule,
    rooms_of,
    synthetic,
    wait_until,
)
from tests.web.browser import KIOSK_LANDSCAPE, screenshot

pytestmark = pytest.mark.browser


async def _meal(page: Page) -> dict[str, object] | None:
    result: dict[str, object] | None = await page.evaluate("() => window.hoivaKiosk.meal()")
    return result


async def test_kiosk_joins_the_table_sees_everyone_and_leaves(
    server: RunningServer, browser: Browser
) -> None:
    """Host and two headless homes at the table; the kiosk joins by its big button, plays
    all three videos with the host's tile large, shows the host's mute, and leaves."""
    host_user = await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
    kiosk_client = await server.add_client("Aino")
    await server.services.store.update_client_settings(
        kiosk_client.id, ClientSettings(language=Language.EN)
    )
    others = [await server.add_client(f"Diner{i}") for i in range(2)]
    room = MealRoom(
        id=str(uuid.uuid4()),
        name="Lunch with the Kallio group",
        kind=RoomKind.MEAL,
        host_id=host_user.id,
        member_ids=(kiosk_client.id, *(c.id for c in others)),
        schedule=lunch_schedule(),
    )
    await rooms_of(server).save_room(room, new=True)
    host = HeadlessHost(server.url, "hannu", HOST_PASSWORD, video_factory=synthetic(HOST_SOURCE))
    tablets = [
        HeadlessTablet(
            server.url,
            await server.enrol_tablet(client),
            video_factory=synthetic(index + 1),
            join_rooms=True,
        )
        for index, client in enumerate(others)
    ]
    token = await server.enrol_tablet(kiosk_client)
    context = await browser.new_context(viewport=KIOSK_LANDSCAPE, locale="en-GB")
    await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    try:
        await host.start()
        for tablet in tablets:
            await tablet.start()
        page = await context.new_page()
        await page.goto(f"{server.url}/tablet")
        await expect(page.locator("#screen-idle")).to_be_visible(timeout=10_000)

        await host.join_room(room.id)
        await expect(page.locator("#screen-meal-invite")).to_be_visible(timeout=10_000)
        await expect(page.locator("#meal-invite-title")).to_have_text(
            "Lunch with the Kallio group is starting"
        )
        await expect(page.locator("#meal-countdown")).to_be_hidden()
        await screenshot(page, "kiosk-meal-invite")
        await page.get_by_role("button", name="Join", exact=True).click()
        await expect(page.locator("#screen-meal")).to_be_visible()

        deadline = time.monotonic() + 90
        while True:
            meal = await _meal(page)
            tiles = meal["tiles"] if meal else []
            assert isinstance(tiles, list)
            if len(tiles) == 3 and all(t["playing"] and t["framesDecoded"] >= 10 for t in tiles):
                break
            assert time.monotonic() < deadline, meal
            await asyncio.sleep(0.5)
        [large] = [t for t in tiles if t["large"]]
        assert large["subjectId"] == host_user.id
        await screenshot(page, "kiosk-meal")

        # The headless homes decode the kiosk's camera.
        for tablet in tablets:
            seat = tablet.meal
            assert seat.peer is not None
            counts = seat.peer.stats.video_frames
            await wait_until(
                lambda s=seat, c=counts: (
                    sum(  # type: ignore[misc]
                        c.get(mid, 0)
                        for mid, t in s.log.tracks.items()
                        if t.publisher_id == kiosk_client.id
                    )
                    >= 10
                ),
                20,
                "the kiosk's camera on a tablet",
            )

        await host.mute(kiosk_client.id)
        await expect(page.locator("#meal-muted")).to_be_visible()
        await expect(page.locator("#meal-muted")).to_have_text(
            "The host has muted your microphone. The others cannot hear you."
        )
        await screenshot(page, "kiosk-meal-muted")
        await host.mute(kiosk_client.id, False)
        await expect(page.locator("#meal-muted")).to_be_hidden()

        await page.get_by_role("button", name="Leave").click()
        await expect(page.locator("#screen-idle")).to_be_visible()
        await expect(page.locator("#idle-notice")).to_have_text("You left the table.")
        live = rooms_of(server).live(room.id)
        assert live is not None
        await wait_until(lambda: kiosk_client.id not in live.seats, 5, "kiosk unseated")
    finally:
        await context.close()
        for tablet in tablets:
            await tablet.stop()
        await host.stop()
