"""The fleet page over HTTP: who may open it, remote settings, enrolment by code and QR."""

from __future__ import annotations

import asyncio
import html
import re
import time
from datetime import time as wall

import pytest
import segno

from care_sessions.access_log import AccessAction, AccessQuery
from care_sessions.identity import Language, QuietHours, Role, TextSize
from tablet_client.headless import HeadlessTablet
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.web.staff_client import StaffBrowser
from web.pairing_qr import kiosk_pairing_url, qr_svg

PAIRING_CODE = re.compile(r'id="pairing-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})<')
QR_URL = re.compile(r'id="pairing-qr" data-url="([^"]+)"')
SETTINGS = {
    "language": "sv",
    "volume": "35",
    "text_size": "largest",
    "auto_answer": "on",
    "auto_answer_after_s": "5",
    "quiet_from": "21:30",
    "quiet_until": "07:00",
    "family_auto_answer": "on",
}


async def test_only_admins_open_the_fleet_page(server: RunningServer) -> None:
    host_password = "host-test-password"
    await server.add_staff("hilda", Role.HOST, host_password)
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        assert (await nurse.get("/admin/fleet")).status == 403
    async with StaffBrowser(server.url) as host:
        await host.login("hilda", host_password)
        assert (await host.get("/admin/fleet")).status == 403
    async with StaffBrowser(server.url) as anonymous:
        response = await anonymous.get("/admin/fleet")
        assert response.status == 302
        assert response.headers["Location"].startswith("/login?next=")
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        page = await admin.get("/admin/fleet")
        assert page.status == 200
        assert "Tablet fleet" in await page.text()


async def test_settings_saved_on_the_fleet_page_reach_the_tablet(server: RunningServer) -> None:
    """Saving stores every setting, logs the change and pushes it to the tablet in 2 s."""
    aino = await server.add_client("Aino")
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    await tablet.start()
    try:
        async with StaffBrowser(server.url) as admin:
            await admin.login("admin", ADMIN_PASSWORD)
            tablet.settings_changed.clear()
            started = time.monotonic()
            response = await admin.post_form(f"/admin/fleet/clients/{aino.id}/settings", SETTINGS)
            assert response.status == 303
            await asyncio.wait_for(tablet.settings_changed.wait(), 2.0)
            arrived_at, pushed = tablet.fleet.settings[-1]
            assert arrived_at - started < 2.0
            assert (pushed.language, pushed.volume, pushed.text_size) == ("sv", 35, "largest")
            assert (pushed.quiet_from, pushed.quiet_until) == ("21:30", "07:00")
            assert pushed.family_auto_answer is True

            stored = await server.services.store.client(aino.id)
            assert stored is not None
            settings = stored.settings
            assert settings.language is Language.SV
            assert settings.text_size is TextSize.LARGEST
            assert (settings.auto_answer, settings.auto_answer_after_s) == (True, 5)
            assert settings.quiet_hours == QuietHours(wall(21, 30), wall(7, 0))
            page = await admin.get(response.headers["Location"])
            assert "Settings saved and sent to the tablet." in await page.text()
        entries = await server.services.access_log.search(AccessQuery(client_id=aino.id))
        assert any(e.action is AccessAction.CHANGE and "fleet" in e.detail for e in entries), (
            entries
        )
    finally:
        await tablet.stop()


async def test_settings_for_an_offline_tablet_are_kept_for_later(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    token = await server.enrol_tablet(aino)
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        response = await admin.post_form(f"/admin/fleet/clients/{aino.id}/settings", SETTINGS)
        page = await admin.get(response.headers["Location"])
        assert "The tablet is not connected" in await page.text()
    tablet = HeadlessTablet(server.url, token)
    await tablet.start()
    try:
        assert tablet.settings is not None and tablet.settings.volume == 35
    finally:
        await tablet.stop()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("volume", "101", "Volume must be from 0 to 100."),
        ("volume", "loud", "Volume must be a whole number from 0 to 100."),
        ("text_size", "huge", "Text size must be one of: large, larger, largest."),
        ("quiet_until", "", "Quiet hours need both times, as HH:MM, or neither."),
        ("quiet_from", "25:00", "Quiet hours need both times, as HH:MM, or neither."),
        ("quiet_until", "21:30", "Quiet hours must start and end at different times."),
        ("family_auto_answer", "perhaps", "Family auto-answer must be on or off."),
        ("language", "de", "Language must be one of: fi, sv, en."),
    ],
)
async def test_a_bad_settings_form_is_refused_and_nothing_is_sent(
    server: RunningServer, field: str, value: str, message: str
) -> None:
    aino = await server.add_client("Aino")
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    await tablet.start()
    try:
        before = await server.services.store.client(aino.id)
        async with StaffBrowser(server.url) as admin:
            await admin.login("admin", ADMIN_PASSWORD)
            response = await admin.post_form(
                f"/admin/fleet/clients/{aino.id}/settings", {**SETTINGS, field: value}
            )
            assert response.status == 400
            assert message in html.unescape(await response.text())
        assert await server.services.store.client(aino.id) == before
        assert len(tablet.fleet.settings) == 1  # the welcome's, nothing after
    finally:
        await tablet.stop()


async def test_pairing_gives_a_code_and_a_qr_code_of_the_kiosk_link(
    server: RunningServer,
) -> None:
    aino = await server.add_client("Aino")
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        response = await admin.post_form(f"/admin/fleet/clients/{aino.id}/pairing", {})
        assert response.status == 200
        text = await response.text()
    code_match, url_match = PAIRING_CODE.search(text), QR_URL.search(text)
    assert code_match and url_match
    code, url = code_match.group(1), html.unescape(url_match.group(1))
    assert url == f"{server.url}/tablet?pair={code}"
    # The SVG on the page is the QR code of exactly that link.
    expected = qr_svg(url, f"QR code: pair a tablet for {aino.first_name}")
    assert str(expected) in text
    assert kiosk_pairing_url(server.url, code) == url
    assert segno.make(url, error="m").designator  # a QR code (not a micro one) holds it
    # The code works once, as any pairing code.
    token = await HeadlessTablet.pair(server.url, code)
    assert token
