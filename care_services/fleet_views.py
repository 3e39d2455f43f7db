"""The fleet's domain values as wire messages (protocol/messages.py, docs/protocol.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec

from care_sessions.fleet import FleetEntry, SelfTestRun, TabletStatus
from protocol.messages import (
    FleetAlertOut,
    FleetDeviceOut,
    SelftestCheck,
    SelftestOut,
    TabletStatusOut,
)


def device_out(
    entry: FleetEntry, now: datetime, online_window: timedelta, selftest_timeout: timedelta
) -> FleetDeviceOut:
    device = entry.device
    return FleetDeviceOut(
        device_id=device.id,
        client_id=device.client_id,
        client_name=entry.client_name,
        label=device.label,
        paired_at=device.created_at.isoformat(),
        online=entry.online(now, online_window),
        last_seen=entry.last_seen_at.isoformat() if entry.last_seen_at else None,
        status=status_out(entry.status) if entry.status else None,
        selftest=selftest_out(entry.selftest, now, selftest_timeout) if entry.selftest else None,
        offline_since=entry.alert.last_seen_at.isoformat() if entry.alert else None,
    )


def status_out(status: TabletStatus) -> TabletStatusOut:
    return TabletStatusOut(
        received_at=status.received_at.isoformat(),
        app_version=status.app_version,
        connection_type=status.connection_type.value,
        effective_type=status.effective_type.value,
        quality=status.quality.value,
        camera=status.camera.value,
        microphone=status.microphone.value,
        screen=status.screen.value,
        downlink_mbps=status.downlink_mbps,
        rtt_ms=round(status.rtt_ms, 1) if status.rtt_ms is not None else None,
        battery_pct=status.battery_pct,
        charging=status.charging,
    )


def selftest_out(run: SelfTestRun, now: datetime, timeout: timedelta) -> SelftestOut:
    return SelftestOut(
        run_id=run.run_id,
        trigger=run.trigger.value,
        state=run.state(now, timeout).value,
        requested_at=run.requested_at.isoformat(),
        answered_at=run.answered_at.isoformat() if run.answered_at else None,
        # The domain's enums are the wire's literals; convert() checks that they still are.
        checks=[
            msgspec.convert(
                {"name": c.name.value, "outcome": c.outcome.value, "detail": c.detail},
                SelftestCheck,
            )
            for c in run.checks
        ],
    )


def alerts_out(entries: list[FleetEntry]) -> list[FleetAlertOut]:
    """Open offline alerts of the listed (not revoked) tablets, longest silent first."""
    alerts = [
        FleetAlertOut(
            alert_id=entry.alert.alert_id,
            device_id=entry.device.id,
            client_id=entry.device.client_id,
            client_name=entry.client_name,
            label=entry.device.label,
            last_seen=entry.alert.last_seen_at.isoformat(),
            raised_at=entry.alert.raised_at.isoformat(),
        )
        for entry in entries
        if entry.alert is not None
    ]
    return sorted(alerts, key=lambda alert: alert.last_seen)
