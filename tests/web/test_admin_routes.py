"""The admin pages: creating clients, settings, pairing codes and revoking tablets."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from datetime import time

import aiohttp
import pytest

from care_sessions.identity import Language, QuietHours, TextSize
from tablet_client.headless import HeadlessTablet
from tests.conftest import ADMIN_PASSWORD, RunningServer
from tests.web.staff_client import StaffBrowser

PAIRING_CODE = re.compile(r'id="pairing-code"[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})<')
VALID = {
    "first_name": "Aino",
    "last_name": "Korhonen",
    "language": "sv",
    "auto_answer": "on",
    "auto_answer_after_s": "7",
}


async def test_admin_creates_a_client(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        response = await admin.post_form("/admin/clients", VALID)
        assert response.status == 303
        [client] = await server.services.store.list_clients()
        assert (client.first_name, client.last_name) == ("Aino", "Korhonen")
        assert client.settings.language is Language.SV
        assert client.settings.auto_answer is True
        assert client.settings.auto_answer_after_s == 7
        page = await admin.get(response.headers["Location"])
        assert "Client added." in await page.text()
        assert "Aino Korhonen" in await page.text()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("first_name", "", "First name is required."),
        ("last_name", "x" * 61, "Last name can be at most 60 characters."),
        ("first_name", "Ai\x00no", "First name contains characters that are not allowed."),
        ("language", "de", "Language must be one of: fi, sv, en."),
        ("auto_answer_after_s", "61", "Auto-answer delay must be from 0 to 60."),
        ("auto_answer_after_s", "-1", "Auto-answer delay must be a whole number from 0 to 60."),
        ("auto_answer_after_s", "1e3", "Auto-answer delay must be a whole number from 0 to 60."),
        ("auto_answer", "maybe", "Auto-answer must be on or off."),
    ],
)
async def test_a_bad_client_form_gets_a_clear_error(
    server: RunningServer, field: str, value: str, message: str
) -> None:
    """Every field is validated; a bad form is a 400 with the reason, never a 500."""
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        response = await admin.post_form("/admin/clients", {**VALID, field: value})
        assert response.status == 400
        assert message in await response.text()
        assert await server.services.store.list_clients() == []


async def test_a_file_upload_in_a_text_field_is_refused(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        form = aiohttp.FormData()
        for key, value in {**VALID, "csrf_token": admin.csrf}.items():
            if key != "first_name":
                form.add_field(key, value)
        form.add_field("first_name", b"Aino", filename="name.txt")
        response = await admin.http.post(admin.url("/admin/clients"), data=form)
        assert response.status == 400
        assert "First name must be text." in await response.text()


async def test_admin_changes_settings(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    quiet = QuietHours(time(21), time(8))
    fleet_side = dataclasses.replace(
        client.settings, volume=35, text_size=TextSize.LARGEST, quiet_hours=quiet
    )
    await server.services.store.update_client_settings(client.id, fleet_side)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(client))
    await tablet.start()
    try:
        async with StaffBrowser(server.url) as admin:
            await admin.login("admin", ADMIN_PASSWORD)
            path = f"/admin/clients/{client.id}/settings"
            tablet.settings_changed.clear()  # the welcome's settings were the first
            response = await admin.post_form(path, {"language": "fi", "auto_answer_after_s": "0"})
            assert response.status == 303
            stored = await server.services.store.client(client.id)
            assert stored is not None
            assert stored.settings.language is Language.FI
            assert stored.settings.auto_answer is False
            assert stored.settings.auto_answer_after_s == 0
            # What this form does not show (the fleet page's settings) is kept, and the
            # tablet gets the change at once.
            assert (stored.settings.volume, stored.settings.text_size) == (35, TextSize.LARGEST)
            assert stored.settings.quiet_hours == quiet
            await asyncio.wait_for(tablet.settings_changed.wait(), 5)
            _, pushed = tablet.fleet.settings[-1]
            assert (pushed.language, pushed.volume, pushed.quiet_from) == ("fi", 35, "21:00")
            bad = await admin.post_form(path, {"language": "xx", "auto_answer_after_s": "5"})
            assert bad.status == 400
            assert "Language must be one of" in await bad.text()
            missing = await admin.post_form(
                "/admin/clients/no-such-client/settings",
                {"language": "fi", "auto_answer_after_s": "5"},
            )
            assert missing.status == 404
    finally:
        await tablet.stop()


async def test_pairing_code_page_and_pairing(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        page = await admin.post_form(f"/admin/clients/{client.id}/pairing-code", {})
        assert page.status == 200
        text = await page.text()
        assert "valid for 15 minutes" in text
        match = PAIRING_CODE.search(text)
        assert match is not None
        code = match.group(1)
        missing = await admin.post_form("/admin/clients/nobody/pairing-code", {})
        assert missing.status == 404

    async with aiohttp.ClientSession() as tablet:
        # People type codes in lower case and without the dash.
        typed = code.replace("-", "").lower()
        paired = await tablet.post(
            f"{server.url}/api/tablet/pair", json={"code": typed, "label": "Living room"}
        )
        assert paired.status == 200
        body = await paired.json()
        assert body["client_id"] == client.id
        me = await tablet.get(
            f"{server.url}/api/tablet/me", headers={"Authorization": f"Bearer {body['token']}"}
        )
        assert await me.json() == {
            "client_id": client.id,
            "first_name": "Aino",
            "settings": {"language": "en", "auto_answer": False, "auto_answer_after_s": 0},
        }
        again = await tablet.post(f"{server.url}/api/tablet/pair", json={"code": code})
        assert again.status == 400
        assert (await again.json())["error"] == "pairing_failed"
    [device] = await server.services.store.devices_for_client(client.id)
    assert device.label == "Living room"


async def test_revoking_a_tablet_disconnects_it_at_once(server: RunningServer) -> None:
    """A lost tablet must stop working now, not at its next reconnect."""
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    tablet = HeadlessTablet(server.url, token)
    await tablet.start()
    try:
        [device] = await server.services.store.devices_for_client(client.id)
        async with StaffBrowser(server.url) as admin:
            await admin.login("admin", ADMIN_PASSWORD)
            admin_page = await (await admin.get("/admin")).text()
            assert f"/admin/devices/{device.id}/revoke" in admin_page
            response = await admin.post_form(f"/admin/devices/{device.id}/revoke", {})
            assert response.status == 303
            await asyncio.wait_for(tablet.revoked.wait(), 5)
            assert tablet.signal is not None and tablet.signal.close_code == 4003
            page = await (await admin.get("/admin?notice=device_revoked")).text()
            assert "Tablet revoked." in page
            again = await admin.post_form("/admin/devices/no-such-device/revoke", {})
            assert again.status == 404
        [device] = await server.services.store.devices_for_client(client.id)
        assert device.revoked
        async with aiohttp.ClientSession() as http:
            me = await http.get(
                f"{server.url}/api/tablet/me", headers={"Authorization": f"Bearer {token}"}
            )
            assert me.status == 401
    finally:
        await tablet.stop()
