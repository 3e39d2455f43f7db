"""The host console in Chromium: a real browser runs a meal of headless tablets through the
forwarding SFU, including the server's renegotiation offers as homes arrive."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest
from playwright.async_api import Browser, Page, expect

from care_sessions.identity import Role
from care_sessions.meal_rooms import MealRoom, RoomKind
from tablet_client.headless import HeadlessTablet
from tests.conftest import RunningServer
from tests.integration.meal_harness import (
    HOST_PASSWORD,
    lunch_schedule,
    rooms_of,
    synthetic,
    wait_until,
)
from tests.web.browser import DASHBOARD_VIEWPORT, screenshot, sign_in

pytestmark = pytest.mark.browser

HOMES = 4


async def _playing_tiles(page: Page, frames: int) -> int:
    tiles = await page.evaluate("() => window.hoivaConsole.tiles()")
    return sum(1 for t in tiles if t["playing"] and t["framesDecoded"] >= frames)


async def test_host_console_shows_every_home_playing(
    server: RunningServer, browser: Browser
) -> None:
    """Four headless tablets at the table: the console shows four playing videos with names
    and quality dots, the tablets decode the browser's camera, and the console's mute
    reaches the tablet.

    The tablets send video only. Four aiortc endpoints share this process with the server,
    and each decodes every stream it receives on a thread of its own: with their audio too
    that was 16 Opus decoders and 4 encoders beside the video ones. On a busy 2-core machine
    the event loop (server and tablets alike) then waited up to a second per callback for the
    interpreter lock (measured: 0.9 s wall for 6 ms of CPU) and the test took minutes. Audio
    at the table is covered by tests/integration/test_meal_rooms.py."""
    host = await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
    clients = [await server.add_client(f"Diner{i}") for i in range(HOMES)]
    room = MealRoom(
        id=str(uuid.uuid4()),
        name="Lunch with the Kallio group",
        kind=RoomKind.MEAL,
        host_id=host.id,
        member_ids=tuple(c.id for c in clients),
        schedule=lunch_schedule(),
    )
    await rooms_of(server).save_room(room, new=True)
    tablets = [
        HeadlessTablet(
            server.url,
            await server.enrol_tablet(client),
            video_factory=synthetic(index + 1),
            join_rooms=True,
            room_audio=False,
        )
        for index, client in enumerate(clients)
    ]
    for tablet in tablets:
        await tablet.start()
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    try:
        await sign_in(page, server.url, "hannu", HOST_PASSWORD)
        await expect(page).to_have_url(f"{server.url}/rooms")
        await expect(page.get_by_role("heading", name=room.name)).to_be_visible()
        await page.get_by_role("link", name=f"Open the console of {room.name}").click()
        await expect(page.locator("#console")).to_have_attribute("data-state", "live")

        # Polled from here: wait_for_function with an async predicate polls very slowly.
        deadline = time.monotonic() + 90
        while await _playing_tiles(page, 20) < HOMES:
            assert time.monotonic() < deadline, await page.evaluate("window.hoivaConsole.tiles()")
            await asyncio.sleep(0.5)
        assert await _playing_tiles(page, 20) == HOMES
        for client in clients:
            tile = page.locator(f'.tile[data-subject-id="{client.id}"]')
            await expect(tile.locator(".tile-name")).to_have_text(client.display_name)
            # Good on loopback; a starved test machine may make one look fair for a moment.
            await expect(tile).to_have_attribute(
                "data-quality", re.compile("^(good|fair)$"), timeout=30_000
            )
        await expect(page.locator("#room-count")).to_have_text(str(HOMES))

        # Every tablet decodes the browser's camera too (it carries no marks; count frames).
        for tablet in tablets:
            seat = tablet.meal
            assert seat.peer is not None
            host_mids = [m for m, t in seat.log.tracks.items() if t.publisher_id == host.id]
            counts = seat.peer.stats.video_frames
            await wait_until(
                lambda m=host_mids, c=counts: sum(c.get(mid, 0) for mid in m) >= 10,  # type: ignore[misc]
                30,
                "the browser's camera on a tablet",
            )
        await screenshot(page, "host-console")

        first = clients[0]
        await page.get_by_role("button", name=f"Mute {first.display_name}").click()
        tile = page.locator(f'.tile[data-subject-id="{first.id}"]')
        await expect(tile).to_have_attribute("data-muted", "true")
        await expect(
            page.get_by_role("button", name=f"Unmute {first.display_name}")
        ).to_be_visible()
        seat = tablets[0].meal
        await wait_until(
            lambda: bool(getattr(seat.log.me(first.id), "muted", False)), 5, "tablet told"
        )

        await page.get_by_role("button", name=f"Spotlight {clients[1].display_name}").click()
        await expect(page.locator(f'.tile[data-subject-id="{clients[1].id}"]')).to_have_attribute(
            "data-spotlit", "true"
        )
    finally:
        await context.close()
        for tablet in tablets:
            await tablet.stop()
