"""The tablet fleet at run time: heartbeats, remote settings and reload, self-tests, alerts.

Tablets report over their signaling socket; admins follow the fleet page by sending
`fleet.watch` and then receive every change pushed on the hub's "fleet" topic (on every
instance). The store is the source of truth for all of it, so several instances can serve
one fleet: each keeps its own sockets' records, any of them answers the page, and an offline
alert is raised once (its id is the same wherever it is computed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from care_services.client_views import client_settings_out
from care_services.fleet_views import alerts_out, device_out
from care_services.metrics import ServiceMetrics
from care_services.ports import Notifier, Participant
from care_services.settings import FleetSettings
from care_sessions.clock import Clock
from care_sessions.errors import Forbidden, InvalidState, NotFound
from care_sessions.fleet import (
    SYSTEM_REQUESTER,
    CheckName,
    CheckOutcome,
    ConnectionType,
    EffectiveType,
    FleetEntry,
    PermissionState,
    RunTrigger,
    ScreenState,
    SelfTestCheck,
    SelfTestRun,
    TabletStatus,
    checked_results,
    connection_key,
    next_daily_run,
    online_window,
)
from care_sessions.fleet_ports import FleetStore
from care_sessions.identity import Principal
from care_sessions.ports import CareStore
from protocol.messages import (
    FleetAlerts,
    FleetDevice,
    FleetDeviceOut,
    FleetRemoved,
    FleetSent,
    FleetSnapshot,
    SelftestResult,
    SelftestRun,
    SettingsUpdate,
    TabletHeartbeat,
    TabletReload,
)

log = logging.getLogger(__name__)
TOPIC = "fleet"


class FleetService:
    """Keeps the fleet's records and tells watching admins and the tablets what changed."""

    def __init__(
        self,
        *,
        store: FleetStore,
        care: CareStore,
        hub: Notifier,
        instance_id: str,
        clock: Clock,
        settings: FleetSettings,
        metrics: ServiceMetrics | None = None,
    ) -> None:
        self._store = store
        self._care = care
        self._hub = hub
        self._instance_id = instance_id
        self._clock = clock
        self.settings = settings
        self._online_window = online_window(settings.heartbeat_s)
        self._selftest_timeout = timedelta(seconds=settings.selftest_timeout_s)
        self._open_alerts = 0
        self._runner: asyncio.Task[None] | None = None
        self._pending: set[asyncio.Task[None]] = set()
        if metrics is not None:
            # Read from the store by every instance's check: the same figure everywhere.
            metrics.live(
                "hoiva_fleet_offline_alerts",
                "Tablets with an open offline alert (whole deployment)",
                lambda: float(self._open_alerts),
            )

    # ---- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="fleet-upkeep")

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        for task in [*self._pending, *([runner] if runner else [])]:
            task.cancel()
        for task in [*self._pending, *([runner] if runner else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        at = self.settings.daily_selftest_time
        next_check = self._clock.now()
        next_daily = next_daily_run(next_check, at) if at is not None else None
        while True:
            now = self._clock.now()
            try:
                if now >= next_check:
                    next_check = now + timedelta(seconds=self.settings.offline_check_s)
                    await self.check_offline()
                if next_daily is not None and now >= next_daily and at is not None:
                    next_daily = next_daily_run(now, at)
                    await self.daily_round()
            except Exception:
                log.exception("fleet upkeep failed; trying again at the next check")
            wake = min(m for m in (next_check, next_daily) if m is not None)
            await asyncio.sleep(max(0.05, (wake - self._clock.now()).total_seconds()))

    # ---- tablets coming and going (signaling.hub.TabletListener) -------------------------

    async def tablet_up(self, conn: Participant) -> None:
        who = conn.principal
        if who.device_id is None:
            return
        now = self._clock.now()
        key = connection_key(self._instance_id, conn.id)
        await self._store.tablet_connected(who.device_id, who.subject_id, key, now)
        await self._heard(who.device_id, now)

    async def tablet_down(self, conn: Participant) -> None:
        who = conn.principal
        if who.device_id is None:
            return
        key = connection_key(self._instance_id, conn.id)
        if await self._store.tablet_disconnected(who.device_id, key):
            await self._publish_device(who.device_id)

    async def device_revoked(self, device_id: str) -> None:
        """A revoked tablet leaves the fleet page, and its offline alert with it."""
        if await self._store.clear_offline_alert(device_id, self._clock.now()):
            self._open_alerts = len(await self._store.open_alerts())
            await self._publish_alerts()
        await self._hub.publish(TOPIC, FleetRemoved(device_id=device_id))

    # ---- what tablets send ---------------------------------------------------------------

    async def heartbeat(self, who: Principal, message: TabletHeartbeat) -> None:
        device_id = _own_device(who, message.device_id)
        now = self._clock.now()
        await self._store.save_heartbeat(
            TabletStatus(
                device_id=device_id,
                client_id=who.subject_id,
                received_at=now,
                app_version=message.app_version,
                connection_type=ConnectionType(message.connection_type),
                effective_type=EffectiveType(message.effective_type),
                downlink_mbps=message.downlink_mbps,
                rtt_ms=message.rtt_ms,
                camera=PermissionState(message.camera),
                microphone=PermissionState(message.microphone),
                screen=ScreenState(message.screen),
                battery_pct=message.battery_pct,
                charging=message.charging,
            )
        )
        await self._heard(device_id, now)

    async def selftest_result(self, who: Principal, message: SelftestResult) -> None:
        device_id = _own_device(who, None)
        run = await self._store.selftest(message.run_id)
        # Another device's run looks exactly like one that does not exist.
        if run is None or run.device_id != device_id:
            raise NotFound("no such self-test run for this tablet")
        if run.answered:
            raise InvalidState("this self-test was already answered")
        checks = checked_results(
            [
                SelfTestCheck(CheckName(c.name), CheckOutcome(c.outcome), c.detail)
                for c in message.checks
            ]
        )
        if await self._store.answer_selftest(run.run_id, device_id, checks, self._clock.now()):
            await self._publish_device(device_id)
        else:
            raise InvalidState("this self-test was already answered")

    # ---- what admins ask -----------------------------------------------------------------

    async def watch(self, conn: Participant, ref: str | None = None) -> None:
        """Subscribe first, then snapshot: a change in between arrives after the snapshot."""
        self._hub.watch(conn, TOPIC)
        entries = await self._store.entries()
        now = self._clock.now()
        await conn.send(
            FleetSnapshot(
                ref=ref,
                heartbeat_s=self.settings.heartbeat_s,
                offline_alert_after_s=self.settings.offline_alert_after_s,
                devices=[self._device_out(entry, now) for entry in entries],
                alerts=alerts_out(entries),
            )
        )

    async def reload(self, conn: Participant, device_id: str, ref: str | None) -> None:
        entry = await self._reachable(device_id)
        await self._hub.send_to(entry.device.client_id, TabletReload())
        await conn.send(FleetSent(ref=ref, device_id=device_id, command="reload"))

    async def request_selftest(self, conn: Participant, device_id: str, ref: str | None) -> None:
        entry = await self._reachable(device_id)
        run_id = await self._ask_selftest(
            device_id, entry.device.client_id, RunTrigger.REQUESTED, conn.principal.subject_id
        )
        await conn.send(FleetSent(ref=ref, device_id=device_id, command="selftest", run_id=run_id))

    async def push_settings(self, client_id: str) -> bool:
        """Send the client's stored settings to its tablet; False when none is connected."""
        client = await self._care.client(client_id)
        if client is None:
            raise NotFound("no such client")
        return await self._hub.send_to(
            client_id, SettingsUpdate(settings=client_settings_out(client.settings))
        )

    async def _reachable(self, device_id: str) -> FleetEntry:
        entry = await self._store.entry(device_id)
        if entry is None:
            raise NotFound("no such tablet")
        # A socket of this instance counts at once: its stored "connected" is written just
        # after the welcome, and an admin may be quicker than that write.
        here = bool(self._hub.principals_of_device(device_id))
        if not (entry.connected or here) or not self._hub.is_connected(entry.device.client_id):
            raise InvalidState("the tablet is not connected")
        return entry

    # ---- self-tests ----------------------------------------------------------------------

    async def _ask_selftest(
        self, device_id: str, client_id: str, trigger: RunTrigger, requested_by: str
    ) -> str:
        run = SelfTestRun(
            run_id=str(uuid.uuid4()),
            device_id=device_id,
            client_id=client_id,
            trigger=trigger,
            requested_by=requested_by,
            requested_at=self._clock.now(),
        )
        await self._store.add_selftest(run, keep=self.settings.selftest_history)
        await self._hub.send_to(client_id, SelftestRun(run_id=run.run_id, trigger=trigger.value))
        await self._publish_device(device_id)
        # Nobody else would tell the page that the tablet never answered.
        self._later(self.settings.selftest_timeout_s + 0.5, lambda: self._publish_device(device_id))
        return run.run_id

    async def daily_round(self) -> int:
        """Ask every tablet connected to this instance (each instance asks its own)."""
        asked = 0
        for conn in self._hub.tablet_connections():
            who = conn.principal
            if who.device_id is None or conn.closed:
                continue
            await self._ask_selftest(
                who.device_id, who.subject_id, RunTrigger.DAILY, SYSTEM_REQUESTER
            )
            asked += 1
        return asked

    # ---- offline alerts ------------------------------------------------------------------

    async def check_offline(self) -> None:
        now = self._clock.now()
        threshold = timedelta(seconds=self.settings.offline_alert_after_s)
        raised = await self._store.raise_offline_alerts(now, threshold)
        cleared = await self._store.clear_recovered_alerts(now)
        self._open_alerts = len(await self._store.open_alerts())
        if raised or cleared:
            for alert in raised:
                log.warning("tablet %s offline since %s", alert.device_id, alert.last_seen_at)
            await self._publish_alerts()
            for device_id in {a.device_id for a in [*raised, *cleared]}:
                await self._publish_device(device_id)

    async def _heard(self, device_id: str, now: datetime) -> None:
        if await self._store.clear_offline_alert(device_id, now):
            log.info("tablet %s is back", device_id)
            self._open_alerts = len(await self._store.open_alerts())
            await self._publish_alerts()
        await self._publish_device(device_id)

    # ---- telling watching admins ---------------------------------------------------------

    def _device_out(self, entry: FleetEntry, now: datetime) -> FleetDeviceOut:
        return device_out(entry, now, self._online_window, self._selftest_timeout)

    async def _publish_device(self, device_id: str) -> None:
        entry = await self._store.entry(device_id)
        if entry is not None:
            device = self._device_out(entry, self._clock.now())
            await self._hub.publish(TOPIC, FleetDevice(device=device))

    async def _publish_alerts(self) -> None:
        entries = await self._store.entries()
        await self._hub.publish(TOPIC, FleetAlerts(alerts=alerts_out(entries)))

    def _later(self, delay: float, action: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            try:
                await action()
            except Exception:
                log.warning("a delayed fleet update failed", exc_info=True)

        task = asyncio.create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)


def _own_device(who: Principal, named: str | None) -> str:
    """The sender's device; a tablet may name only itself."""
    if who.device_id is None:
        raise Forbidden("only a paired tablet reports its state")
    if named is not None and named != who.device_id:
        raise Forbidden("a tablet reports only for itself")
    return who.device_id
