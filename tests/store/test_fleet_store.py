"""The fleet store on SQLite and PostgreSQL: heartbeats, which socket holds a tablet,
self-test runs and their history, offline alerts raised once by racing instances."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from care_sessions.fleet import (
    CheckName,
    CheckOutcome,
    EffectiveType,
    PermissionState,
    RunTrigger,
    ScreenState,
    SelfTestCheck,
    SelfTestRun,
    TabletStatus,
)
from care_sessions.identity import Client, Device
from store.fleet_store import SqlFleetStore
from store.fleet_tables import tablet_offline_alert, tablet_selftest, tablet_status
from store.tables import metadata
from tests.store.conftest import Stores

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
FLEET_TABLES = {tablet_status.name, tablet_selftest.name, tablet_offline_alert.name}


async def _tablet(stores: Stores, first: str = "Aino", at: datetime = T0) -> Device:
    client = Client(str(uuid.uuid4()), first, "Korhonen")
    await stores.care.add_client(client)
    await stores.care.add_pairing_code(f"code-{client.id}", client.id, at + timedelta(hours=1), "u")
    return await stores.care.redeem_pairing_code(
        f"code-{client.id}", at, Device(str(uuid.uuid4()), "", at), f"token-{client.id}"
    )


def _status(device: Device, at: datetime, **changes: Any) -> TabletStatus:
    values: dict[str, Any] = {
        "device_id": device.id,
        "client_id": device.client_id,
        "received_at": at,
        "app_version": "kiosk/0.1.0",
        "effective_type": EffectiveType.G4,
        "rtt_ms": 42.5,
        "camera": PermissionState.GRANTED,
        "microphone": PermissionState.DENIED,
        "screen": ScreenState.ON,
        "battery_pct": 64,
        "charging": False,
    }
    values.update(changes)
    return TabletStatus(**values)


async def test_migration_builds_the_declared_fleet_tables(stores: Stores) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [
            entry
            for entry in compare_metadata(context, metadata)
            if any(getattr(getattr(p, "table", p), "name", None) in FLEET_TABLES for p in entry[1:])
        ]

    async with stores.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_the_latest_heartbeat_and_connection_are_kept(stores: Stores) -> None:
    fleet = SqlFleetStore(stores.engine)
    device = await _tablet(stores)
    [fresh] = await fleet.entries()
    assert (fresh.status, fresh.connected, fresh.last_seen_at) == (None, False, None)
    assert fresh.client_name == "Aino Korhonen"

    await fleet.tablet_connected(device.id, device.client_id, "i1:1", T0)
    await fleet.save_heartbeat(_status(device, T0 + timedelta(seconds=1)))
    await fleet.save_heartbeat(_status(device, T0 + timedelta(seconds=31), battery_pct=61))
    entry = await fleet.entry(device.id)
    assert entry is not None and entry.connected
    assert entry.last_seen_at == T0 + timedelta(seconds=31)
    assert entry.status == _status(device, T0 + timedelta(seconds=31), battery_pct=61)

    # A later socket elsewhere is not undone by the close of the earlier one.
    await fleet.tablet_connected(device.id, device.client_id, "i2:7", T0 + timedelta(seconds=40))
    assert await fleet.tablet_disconnected(device.id, "i1:1") is False
    assert (await fleet.entry(device.id)).connected  # type: ignore[union-attr]
    assert await fleet.tablet_disconnected(device.id, "i2:7") is True
    assert not (await fleet.entry(device.id)).connected  # type: ignore[union-attr]


async def test_a_new_tablet_of_the_client_takes_over_the_connection(stores: Stores) -> None:
    fleet = SqlFleetStore(stores.engine)
    old = await _tablet(stores)
    await fleet.tablet_connected(old.id, old.client_id, "i1:1", T0)
    await stores.care.add_pairing_code("second", old.client_id, T0 + timedelta(hours=1), "u")
    new = await stores.care.redeem_pairing_code(
        "second", T0, Device(str(uuid.uuid4()), "", T0), "token-second"
    )
    await fleet.tablet_connected(new.id, new.client_id, "i1:2", T0 + timedelta(seconds=5))
    entries = {entry.device.id: entry for entry in await fleet.entries()}
    assert (entries[old.id].connected, entries[new.id].connected) == (False, True)


async def test_self_tests_are_answered_once_by_their_device_and_history_is_bounded(
    stores: Stores,
) -> None:
    fleet = SqlFleetStore(stores.engine)
    device, other = await _tablet(stores), await _tablet(stores, "Eino")
    runs = [
        SelfTestRun(
            f"run-{i}",
            device.id,
            device.client_id,
            RunTrigger.DAILY,
            "system",
            T0 + timedelta(days=i),
        )
        for i in range(4)
    ]
    for run in runs:
        await fleet.add_selftest(run, keep=3)
    assert [r.run_id for r in await fleet.selftests_of(device.id)] == ["run-3", "run-2", "run-1"]

    checks = (
        SelfTestCheck(CheckName.CAMERA, CheckOutcome.FAIL, "no camera"),
        SelfTestCheck(CheckName.TURN, CheckOutcome.SKIPPED, "not configured"),
    )
    answered_at = T0 + timedelta(days=3, seconds=4)
    assert await fleet.answer_selftest("run-3", other.id, checks, answered_at) is None
    answered = await fleet.answer_selftest("run-3", device.id, checks, answered_at)
    assert answered is not None and answered.checks == checks and not answered.passed
    assert await fleet.answer_selftest("run-3", device.id, checks, answered_at) is None
    entry = await fleet.entry(device.id)
    assert entry is not None and entry.selftest == answered
    assert (await fleet.entry(other.id)).selftest is None  # type: ignore[union-attr]


async def test_offline_alerts_are_raised_once_and_cleared(stores: Stores) -> None:
    silent, heard = await _tablet(stores), await _tablet(stores, "Eino")
    fleet = SqlFleetStore(stores.engine)
    await fleet.save_heartbeat(_status(silent, T0))
    await fleet.save_heartbeat(_status(heard, T0 + timedelta(minutes=14)))
    now, threshold = T0 + timedelta(minutes=16), timedelta(minutes=15)

    # Two instances check at the same moment: one alert.
    first, second = await asyncio.gather(
        SqlFleetStore(stores.engine).raise_offline_alerts(now, threshold),
        SqlFleetStore(stores.engine).raise_offline_alerts(now, threshold),
    )
    assert len(first) + len(second) == 1
    [alert] = await fleet.open_alerts()
    assert (alert.device_id, alert.last_seen_at) == (silent.id, T0)
    assert await fleet.raise_offline_alerts(now + timedelta(minutes=5), threshold) == []
    assert (await fleet.entry(silent.id)).alert == alert  # type: ignore[union-attr]

    # Heard again: cleared; a later silence is a new alert.
    assert await fleet.clear_offline_alert(silent.id, now + timedelta(minutes=6)) is True
    assert await fleet.clear_offline_alert(silent.id, now + timedelta(minutes=6)) is False
    assert await fleet.open_alerts() == []
    await fleet.save_heartbeat(_status(silent, now + timedelta(minutes=6)))
    later = now + timedelta(minutes=30)
    raised = await fleet.raise_offline_alerts(later, threshold)
    assert {a.device_id for a in raised} == {silent.id, heard.id}
    assert alert.alert_id not in {a.alert_id for a in raised}


async def test_recovered_and_revoked_tablets_lose_their_alerts(stores: Stores) -> None:
    back, revoked = await _tablet(stores), await _tablet(stores, "Eino")
    fleet = SqlFleetStore(stores.engine)
    now, threshold = T0 + timedelta(hours=1), timedelta(minutes=15)
    assert len(await fleet.raise_offline_alerts(now, threshold)) == 2  # never seen since pairing
    # Heard by an instance that missed clearing the alert; the other revoked.
    await stores.care.touch_device(back.id, now + timedelta(minutes=1))
    await stores.care.revoke_device(revoked.id, now + timedelta(minutes=1))
    cleared = await fleet.clear_recovered_alerts(now + timedelta(minutes=2))
    assert {a.device_id for a in cleared} == {back.id, revoked.id}
    assert await fleet.open_alerts() == []
    assert [e.device.id for e in await fleet.entries()] == [back.id]


async def test_erasing_a_clients_tablets_takes_their_fleet_records(stores: Stores) -> None:
    fleet = SqlFleetStore(stores.engine)
    device = await _tablet(stores)
    await fleet.save_heartbeat(_status(device, T0))
    await fleet.add_selftest(
        SelfTestRun("run", device.id, device.client_id, RunTrigger.REQUESTED, "u", T0), keep=5
    )
    await fleet.raise_offline_alerts(T0 + timedelta(hours=1), timedelta(minutes=15))
    counts = await stores.care.erase_optional_client_data(device.client_id)
    assert counts["devices"] == 1
    assert await fleet.entries() == []
    assert await fleet.selftests_of(device.id) == []
    assert await fleet.open_alerts() == []
