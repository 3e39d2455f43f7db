"""The fleet across two real instances over a real Redis and one database.

An admin on A follows a tablet whose socket is on B, commands reach it through B, and an
offline alert checked by both instances is raised once and counted the same by both.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import aiohttp
from yarl import URL

from care_sessions.identity import Role, StaffUser
from care_sessions.secrets_kdf import hash_password
from store.fleet_store import SqlFleetStore
from tablet_client.headless import HeadlessTablet
from tests.integration.wire import RawSocket
from tests.scaleout.conftest import Cluster, Instance
from tests.web.staff_client import StaffBrowser

ADMIN_PASSWORD = "fleet-admin-password"
FAST_FLEET = {
    "fleet__heartbeat_s": "0.5",
    "fleet__offline_alert_after_s": "3",
    "fleet__offline_check_s": "0.25",
}


async def _admin_socket(cluster: Cluster, instance: Instance) -> RawSocket:
    session = await cluster.auth.login("admin", ADMIN_PASSWORD)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    http.cookie_jar.update_cookies({"hoiva_session": session.token}, URL(instance.url))
    sock = await RawSocket.open(instance.ws_url, http=http)
    await sock.send({"type": "hello"})
    await sock.expect("welcome")
    await sock.send({"type": "fleet.watch"})
    await sock.expect("fleet.snapshot")
    return sock


async def _device(sock: RawSocket, wanted: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        message = await sock.expect("fleet.device", max(0.1, deadline - time.monotonic()))
        if wanted(message["device"]):
            return message["device"]


async def _gauge(instance: Instance) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{instance.url}/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("hoiva_fleet_offline_alerts "):
                return float(line.split()[1])
    raise AssertionError("no hoiva_fleet_offline_alerts gauge")


async def test_the_fleet_works_across_instances(cluster: Cluster) -> None:
    await cluster.store.add_staff(
        StaffUser(str(uuid.uuid4()), "admin", "Admin", Role.ADMIN, hash_password(ADMIN_PASSWORD))
    )
    a = await cluster.add_instance("a", **FAST_FLEET)
    b = await cluster.add_instance("b", **FAST_FLEET)
    aino, token = await cluster.add_client("Aino")
    [device] = await cluster.store.devices_for_client(aino.id)
    admin = await _admin_socket(cluster, a)
    tablet = HeadlessTablet(b.url, token)
    tablet.device.battery_pct = 57
    await tablet.start()
    try:
        # Heartbeats stored by B reach the admin on A.
        seen = await _device(admin, lambda d: d.get("status", {}).get("battery_pct") == 57)
        assert seen["online"] is True

        # Settings saved on A arrive at the tablet on B within 2 s.
        async with StaffBrowser(a.url) as page:
            await page.login("admin", ADMIN_PASSWORD)
            tablet.settings_changed.clear()
            started = time.monotonic()
            response = await page.post_form(
                f"/admin/fleet/clients/{aino.id}/settings",
                {
                    "language": "fi",
                    "volume": "15",
                    "text_size": "larger",
                    "auto_answer_after_s": "9",
                },
            )
            assert response.status == 303
            assert "notice=settings_sent" in response.headers["Location"]
            await asyncio.wait_for(tablet.settings_changed.wait(), 2.0)
            assert tablet.fleet.settings[-1][0] - started < 2.0
            assert tablet.fleet.settings[-1][1].volume == 15

        # Reload and self-test asked on A reach the tablet on B; the answer is seen on A.
        await admin.send({"type": "fleet.reload", "device_id": device.id, "ref": "r"})
        await admin.expect("fleet.sent")
        await asyncio.wait_for(tablet.reload_requested.wait(), 5)
        await admin.send({"type": "fleet.selftest", "device_id": device.id, "ref": "t"})
        await _device(admin, lambda d: d.get("selftest", {}).get("state") == "passed", 20)

        # The tablet stops: both instances check, one alert, the same count on both.
        await tablet.stop()
        alerts = await admin.expect("fleet.alerts", 10)
        while not alerts.get("alerts"):
            alerts = await admin.expect("fleet.alerts", 10)
        assert [alert["device_id"] for alert in alerts["alerts"]] == [device.id]
        await asyncio.sleep(1.0)  # several more checks on both instances
        fleet = SqlFleetStore(cluster.store.engine)
        assert len(await fleet.open_alerts()) == 1
        assert (await _gauge(a), await _gauge(b)) == (1.0, 1.0)
    finally:
        await tablet.stop()
        await admin.close()
