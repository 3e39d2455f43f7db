"""The tablet fleet over the socket: real server, real headless tablets, raw admin sockets.

Heartbeats reach watching admins, a tablet reports only for itself, remote settings, reload
and self-tests reach the tablet, and a silent tablet raises an offline alert that clears
when it comes back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from care_sessions.identity import ClientSettings, Language, TextSize
from store.fleet_store import SqlFleetStore
from tablet_client.headless import HeadlessTablet
from tests.conftest import (
    ADMIN_PASSWORD,
    NURSE_PASSWORD,
    RunningServer,
    make_config,
    serving,
    start_server,
)
from tests.integration.wire import RawSocket, staff_socket

HELSINKI_OFFSET_PROBE = "Europe/Helsinki"


async def _device_id(server: RunningServer, client_id: str) -> str:
    [device] = await server.services.store.devices_for_client(client_id)
    return device.id


def _fleet(server: RunningServer) -> Any:
    fleet = server.services.fleet
    assert fleet is not None
    return fleet


async def _watching_admin(server: RunningServer) -> tuple[RawSocket, dict[str, Any]]:
    admin = await staff_socket(server, "admin", ADMIN_PASSWORD)
    await admin.send({"type": "fleet.watch", "ref": "w"})
    return admin, await admin.expect("fleet.snapshot")


async def _device_update(
    sock: RawSocket, device_id: str, wanted: Any = lambda d: True, timeout: float = 5.0
) -> dict[str, Any]:
    """The next fleet.device about this tablet for which `wanted` holds."""
    deadline = time.monotonic() + timeout
    while True:
        message = await sock.expect("fleet.device", max(0.1, deadline - time.monotonic()))
        if message["device"]["device_id"] == device_id and wanted(message["device"]):
            return message["device"]


async def test_heartbeats_reach_watching_admins_and_no_nurse(server: RunningServer) -> None:
    """A tablet's heartbeat is stored and pushed to the admins watching the fleet page."""
    aino = await server.add_client("Aino")
    token = await server.enrol_tablet(aino)
    admin, snapshot = await _watching_admin(server)
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    tablet = HeadlessTablet(server.url, token)
    tablet.device.battery_pct = 81
    await tablet.start()
    try:
        device_id = await _device_id(server, aino.id)
        assert snapshot["devices"][0]["device_id"] == device_id
        assert snapshot["devices"][0]["online"] is False
        seen = await _device_update(admin, device_id, lambda d: "status" in d)
        assert seen["online"] is True
        assert seen["client_name"] == "Aino Testinen"
        status = seen["status"]
        assert status["app_version"] == "hoiva-tablet/0.1"
        assert status["battery_pct"] == 81
        assert status["camera"] == "granted"
        assert status["screen"] == "on"
        assert status["rtt_ms"] >= 0
        assert status["quality"] == "good"

        # Something changes on the tablet: it says so at once.
        tablet.device.screen = "off"
        tablet.device.battery_pct = 40
        await tablet.send_heartbeat()
        changed = await _device_update(admin, device_id, lambda d: d["status"]["screen"] == "off")
        assert changed["status"]["battery_pct"] == 40

        # Nurses see presence, never the fleet: their socket got no fleet message.
        await nurse.send({"type": "fleet.watch", "ref": "n"})
        refused = await nurse.expect("error")
        assert (refused["code"], refused["ref"]) == ("forbidden", "n")
        await nurse.send({"type": "ping", "ref": "end"})
        await nurse.expect("pong")
        assert not [m for m in nurse.seen if m["type"].startswith("fleet.")]
    finally:
        await tablet.stop()
        await admin.close()
        await nurse.close()


async def test_a_tablet_reports_only_for_itself(server: RunningServer) -> None:
    """Another device's id in a heartbeat, or another device's self-test run, is refused,
    and the other tablet's records stay as they were."""
    aino, eino = await server.add_client("Aino"), await server.add_client("Eino")
    eino_tablet = HeadlessTablet(server.url, await server.enrol_tablet(eino))
    await eino_tablet.start()
    aino_sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    try:
        eino_device = await _device_id(server, eino.id)
        aino_device = await _device_id(server, aino.id)
        store = SqlFleetStore(server.services.store.engine)  # type: ignore[attr-defined]
        await _until(lambda: _has_status(store, eino_device))
        before = await store.entry(eino_device)
        assert before is not None and before.status is not None

        await aino_sock.send(
            {
                "type": "tablet.heartbeat",
                "app_version": "evil/1",
                "device_id": eino_device,
                "battery_pct": 1,
                "ref": "spoof",
            }
        )
        refused = await aino_sock.expect("error")
        assert (refused["code"], refused["ref"]) == ("forbidden", "spoof")
        after = await store.entry(eino_device)
        assert after is not None and after.status == before.status

        # Naming itself is fine.
        await aino_sock.send(
            {"type": "tablet.heartbeat", "app_version": "kiosk/1", "device_id": aino_device}
        )
        await _until(lambda: _has_status(store, aino_device))

        # A self-test run asked of Eino's tablet cannot be answered by Aino's.
        admin = await staff_socket(server, "admin", ADMIN_PASSWORD)
        eino_tablet.selftest_answered.clear()
        await admin.send({"type": "fleet.selftest", "device_id": eino_device, "ref": "t"})
        sent = await admin.expect("fleet.sent")
        await aino_sock.send(
            {
                "type": "selftest.result",
                "run_id": sent["run_id"],
                "checks": [{"name": "camera", "outcome": "pass"}],
                "ref": "steal",
            }
        )
        stolen = await aino_sock.expect("error")
        assert (stolen["code"], stolen["ref"]) == ("not_found", "steal")
        await asyncio.wait_for(eino_tablet.selftest_answered.wait(), 15)
        await _until(lambda: _answered(store, sent["run_id"]))
        run = await store.selftest(sent["run_id"])
        assert run is not None and run.device_id == eino_device and len(run.checks) == 5
        await admin.close()
    finally:
        await eino_tablet.stop()
        await aino_sock.close()


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"battery_pct": 101}, "battery_pct"),
        ({"screen": "dim"}, "screen"),
        ({"camera": "maybe"}, "camera"),
        ({"app_version": "x" * 41}, "app_version"),
        ({"app_version": "kiosk<script>"}, "app_version"),
        ({"rtt_ms": -1}, "rtt_ms"),
        ({"connection_type": "carrier-pigeon"}, "connection_type"),
        ({"device_id": "../../etc"}, "device_id"),
        ({"gps": "60.17,24.94"}, "gps"),
        ({"app_version": None}, "app_version"),
    ],
)
async def test_a_malformed_heartbeat_gets_an_error_reply(
    server: RunningServer, fields: dict[str, Any], where: str
) -> None:
    """Every field is bounded; anything else is refused with bad_message and not stored."""
    aino = await server.add_client("Aino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    try:
        await sock.send(
            {"type": "tablet.heartbeat", "app_version": "kiosk/1", **fields, "ref": "m"}
        )
        error = await sock.expect("error")
        assert (error["code"], error["ref"]) == ("bad_message", "m")
        assert where in error["message"]
        store = SqlFleetStore(server.services.store.engine)  # type: ignore[attr-defined]
        entry = await store.entry(await _device_id(server, aino.id))
        assert entry is not None and entry.status is None
        # The socket stays open.
        await sock.send({"type": "ping", "ref": "alive"})
        assert (await sock.expect("pong"))["ref"] == "alive"
    finally:
        await sock.close()


async def test_a_malformed_selftest_result_gets_an_error_reply(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    await tablet.start()
    sock = None
    admin = await staff_socket(server, "admin", ADMIN_PASSWORD)
    try:
        device_id = await _device_id(server, aino.id)
        await tablet.stop()  # its token now serves the raw socket below
        sock = await RawSocket.open(server.ws_url, token=tablet._token)
        await admin.send({"type": "fleet.selftest", "device_id": device_id, "ref": "t"})
        run_id = (await admin.expect("fleet.sent"))["run_id"]
        assert (await sock.expect("selftest.run"))["run_id"] == run_id
        bad = [
            [{"name": "camera", "outcome": "perfect"}],
            [{"name": "x-ray", "outcome": "pass"}],
            [{"name": "camera", "outcome": "pass", "detail": "d" * 201}],
            [{"name": "camera", "outcome": "pass"}] * 11,
            [{"name": "camera", "outcome": "pass"}, {"name": "camera", "outcome": "fail"}],
            [],
        ]
        for index, checks in enumerate(bad):
            await sock.send(
                {"type": "selftest.result", "run_id": run_id, "checks": checks, "ref": f"b{index}"}
            )
            error = await sock.expect("error")
            assert (error["code"], error["ref"]) == ("bad_message", f"b{index}"), checks
        good = [{"name": "camera", "outcome": "pass"}, {"name": "turn", "outcome": "skipped"}]
        await sock.send({"type": "selftest.result", "run_id": run_id, "checks": good})
        await sock.send({"type": "selftest.result", "run_id": run_id, "checks": good, "ref": "2"})
        again = await sock.expect("error")
        assert (again["code"], again["ref"]) == ("invalid_state", "2")
    finally:
        await admin.close()
        if sock is not None:
            await sock.close()


async def test_settings_reload_and_selftests_reach_the_tablet(server: RunningServer) -> None:
    """An admin's settings change arrives in 2 s; reload arrives; a tablet without a camera
    fails its self-test and one with a camera passes, both shown to watching admins."""
    aino, eino = await server.add_client("Aino"), await server.add_client("Eino")
    with_camera = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    without_camera = HeadlessTablet(server.url, await server.enrol_tablet(eino), camera=False)
    await with_camera.start()
    await without_camera.start()
    admin, _ = await _watching_admin(server)
    try:
        fleet = _fleet(server)
        assert with_camera.settings is not None and with_camera.settings.volume == 80
        with_camera.settings_changed.clear()
        quiet = ClientSettings(language=Language.SV, volume=35, text_size=TextSize.LARGEST)
        await server.services.store.update_client_settings(aino.id, quiet)
        started = time.monotonic()
        assert await fleet.push_settings(aino.id) is True
        await asyncio.wait_for(with_camera.settings_changed.wait(), 2.0)
        arrived_at, settings = with_camera.fleet.settings[-1]
        assert arrived_at - started < 2.0
        assert (settings.language, settings.volume, settings.text_size) == ("sv", 35, "largest")
        assert without_camera.fleet.settings[-1][1].volume == 80  # nobody else's changed

        aino_device = await _device_id(server, aino.id)
        eino_device = await _device_id(server, eino.id)
        await admin.send({"type": "fleet.reload", "device_id": aino_device, "ref": "r"})
        assert (await admin.expect("fleet.sent"))["command"] == "reload"
        await asyncio.wait_for(with_camera.reload_requested.wait(), 5)
        assert (with_camera.fleet.reloads, without_camera.fleet.reloads) == (1, 0)

        for device_id in (eino_device, aino_device):
            await admin.send({"type": "fleet.selftest", "device_id": device_id})
        failed = await _device_update(
            admin, eino_device, lambda d: d.get("selftest", {}).get("state") == "failed", 20
        )
        checks = {c["name"]: c for c in failed["selftest"]["checks"]}
        assert checks["camera"]["outcome"] == "fail"
        assert checks["camera"]["detail"] == "no camera"
        assert checks["media_server"]["outcome"] == "pass"
        # An echo test over the tablet's own socket: its test picture came back.
        assert checks["media_server"]["detail"].startswith("echo in ")
        assert checks["turn"] == {"name": "turn", "outcome": "skipped", "detail": "not configured"}
        passed = await _device_update(
            admin, aino_device, lambda d: d.get("selftest", {}).get("state") == "passed", 20
        )
        outcomes = {c["name"]: c["outcome"] for c in passed["selftest"]["checks"]}
        assert outcomes == {
            "camera": "pass",
            "microphone": "pass",
            "speaker": "skipped",
            "media_server": "pass",
            "turn": "skipped",
        }
        assert passed["selftest"]["trigger"] == "requested"
    finally:
        await admin.close()
        await with_camera.stop()
        await without_camera.stop()


async def test_commands_for_missing_or_offline_tablets_are_refused(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    await server.enrol_tablet(aino)  # paired, never connected
    device_id = await _device_id(server, aino.id)
    admin = await staff_socket(server, "admin", ADMIN_PASSWORD)
    try:
        await admin.send({"type": "fleet.reload", "device_id": device_id, "ref": "off"})
        assert (await admin.expect("error"))["code"] == "invalid_state"
        await admin.send({"type": "fleet.selftest", "device_id": "nope", "ref": "x"})
        assert (await admin.expect("error"))["code"] == "not_found"
    finally:
        await admin.close()


@pytest.fixture
async def fast_fleet(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """Heartbeats every 0.3 s, an alert after 2 s of silence, checked every 0.2 s."""
    config = make_config(
        tmp_path,
        **{
            "fleet.heartbeat_s": 0.3,
            "fleet.offline_alert_after_s": 2.0,
            "fleet.offline_check_s": 0.2,
        },
    )
    async with serving(config) as running:
        yield running


async def test_offline_alert_fires_for_a_silent_tablet_and_clears_on_return(
    fast_fleet: RunningServer,
) -> None:
    server = fast_fleet
    aino, eino = await server.add_client("Aino"), await server.add_client("Eino")
    aino_token = await server.enrol_tablet(aino)
    stopping = HeadlessTablet(server.url, aino_token)
    staying = HeadlessTablet(server.url, await server.enrol_tablet(eino))
    await stopping.start()
    await staying.start()
    admin, _ = await _watching_admin(server)
    try:
        aino_device = await _device_id(server, aino.id)
        # Heartbeats keep both quiet well past the threshold.
        await asyncio.sleep(3.0)
        assert await _open_alert_devices(server) == set()
        assert await _gauge(server) == 0

        await stopping.stop()
        alerts = await _alerts_message(admin, lambda a: len(a) == 1, timeout=6)
        assert alerts[0]["device_id"] == aino_device
        assert alerts[0]["client_name"] == "Aino Testinen"
        assert await _open_alert_devices(server) == {aino_device}
        assert await _gauge(server) == 1
        offline = await _device_update(admin, aino_device, lambda d: "offline_since" in d)
        assert offline["online"] is False

        # A second check (and a second instance running it) raises nothing new.
        await _fleet(server).check_offline()
        assert len(await _all_alerts(server)) == 1

        back = HeadlessTablet(server.url, aino_token)
        await back.start()
        try:
            assert await _alerts_message(admin, lambda a: a == [], timeout=5) == []
            assert await _open_alert_devices(server) == set()
            await _until(lambda: _gauge_is(server, 0))
            [alert] = await _all_alerts(server)
            assert alert.cleared_at is not None
        finally:
            await back.stop()
    finally:
        await admin.close()
        await staying.stop()


async def test_the_daily_self_test_round_runs_at_its_time(tmp_path: Path) -> None:
    """fleet.daily_selftest_at (Helsinki) asks every connected tablet."""
    from zoneinfo import ZoneInfo

    soon = datetime.now(ZoneInfo(HELSINKI_OFFSET_PROBE)) + timedelta(seconds=3)
    config = make_config(tmp_path, **{"fleet.daily_selftest_at": soon.strftime("%H:%M:%S")})
    server = await start_server(config)
    try:
        aino = await server.add_client("Aino")
        tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino))
        await tablet.start()
        try:
            await asyncio.wait_for(tablet.selftest_answered.wait(), 20)
            [(trigger, checks)] = tablet.fleet.selftests.values()
            assert trigger == "daily"
            assert [c.name for c in checks] == [
                "camera",
                "microphone",
                "speaker",
                "media_server",
                "turn",
            ]
        finally:
            await tablet.stop()
    finally:
        await server.runner.cleanup()


# ---- helpers -----------------------------------------------------------------------------


async def _until(check: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def _has_status(store: SqlFleetStore, device_id: str) -> bool:
    entry = await store.entry(device_id)
    return entry is not None and entry.status is not None


async def _answered(store: SqlFleetStore, run_id: str) -> bool:
    run = await store.selftest(run_id)
    return run is not None and run.answered


async def _alerts_message(sock: RawSocket, wanted: Any, timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        message = await sock.expect("fleet.alerts", max(0.1, deadline - time.monotonic()))
        alerts: list[dict[str, Any]] = message.get("alerts", [])
        if wanted(alerts):
            return alerts


async def _open_alert_devices(server: RunningServer) -> set[str]:
    store = SqlFleetStore(server.services.store.engine)  # type: ignore[attr-defined]
    return {alert.device_id for alert in await store.open_alerts()}


async def _all_alerts(server: RunningServer) -> list[Any]:
    import sqlalchemy as sa

    from store.fleet_tables import tablet_offline_alert

    async with server.services.store.engine.connect() as conn:  # type: ignore[attr-defined]
        return list(await conn.execute(sa.select(tablet_offline_alert)))


async def _gauge(server: RunningServer) -> float:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/metrics") as response,
    ):
        text = await response.text()
    for line in text.splitlines():
        if line.startswith("hoiva_fleet_offline_alerts "):
            return float(line.split()[1])
    raise AssertionError("no hoiva_fleet_offline_alerts in /metrics")


async def _gauge_is(server: RunningServer, value: float) -> bool:
    return await _gauge(server) == value


async def test_a_revoked_tablet_leaves_the_fleet(server: RunningServer) -> None:
    """Revoking on the admin page removes the tablet from every watcher's list."""
    from tests.web.staff_client import StaffBrowser

    aino, eino = await server.add_client("Aino"), await server.add_client("Eino")
    await server.enrol_tablet(aino)
    await server.enrol_tablet(eino)
    aino_device = await _device_id(server, aino.id)
    admin, snapshot = await _watching_admin(server)
    try:
        assert len(snapshot["devices"]) == 2
        async with StaffBrowser(server.url) as page:
            await page.login("admin", ADMIN_PASSWORD)
            response = await page.post_form(f"/admin/devices/{aino_device}/revoke", {})
            assert response.status == 303
        removed = await admin.expect("fleet.removed")
        assert removed["device_id"] == aino_device
        await admin.send({"type": "fleet.watch"})
        again = await admin.expect("fleet.snapshot")
        assert [d["client_name"] for d in again["devices"]] == ["Eino Testinen"]
    finally:
        await admin.close()
