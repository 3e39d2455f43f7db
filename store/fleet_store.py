"""The tablet fleet on SQLAlchemy Core: implements care_sessions.fleet_ports.FleetStore."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from care_sessions.fleet import (
    CheckName,
    CheckOutcome,
    ConnectionType,
    EffectiveType,
    FleetEntry,
    OfflineAlert,
    PermissionState,
    RunTrigger,
    ScreenState,
    SelfTestCheck,
    SelfTestRun,
    TabletStatus,
    offline_alert_id,
)
from care_sessions.identity import Device
from store import tables as t
from store.fleet_tables import tablet_offline_alert, tablet_selftest, tablet_status
from store.sql_store import device_from_row

_status_c = tablet_status.c
_run_c = tablet_selftest.c
_alert_c = tablet_offline_alert.c
_HEARTBEAT_COLUMNS = (
    "app_version",
    "connection_type",
    "effective_type",
    "downlink_mbps",
    "rtt_ms",
    "camera",
    "microphone",
    "screen",
    "battery_pct",
    "charging",
)


class SqlFleetStore:
    """Latest status per tablet, self-test runs (a few per tablet) and offline alerts."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def device(self, device_id: str) -> Device | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(t.device.select().where(t.device.c.id == device_id))).first()
        return device_from_row(row) if row else None

    # ---- status --------------------------------------------------------------------------

    async def save_heartbeat(self, status: TabletStatus) -> None:
        values = {
            "client_id": status.client_id,
            "heartbeat_at": status.received_at,
            "app_version": status.app_version,
            "connection_type": status.connection_type.value,
            "effective_type": status.effective_type.value,
            "downlink_mbps": status.downlink_mbps,
            "rtt_ms": status.rtt_ms,
            "camera": status.camera.value,
            "microphone": status.microphone.value,
            "screen": status.screen.value,
            "battery_pct": status.battery_pct,
            "charging": status.charging,
        }
        async with self._engine.begin() as conn:
            await _upsert_status(conn, status.device_id, values)
            await _seen(conn, status.device_id, status.received_at)

    async def tablet_connected(
        self, device_id: str, client_id: str, connection: str, at: datetime
    ) -> None:
        async with self._engine.begin() as conn:
            # One live socket per client (signaling.hub): its other tablets hold none now.
            await conn.execute(
                tablet_status.update()
                .where(_status_c.client_id == client_id, _status_c.device_id != device_id)
                .values(connection=None)
            )
            await _upsert_status(
                conn,
                device_id,
                {"client_id": client_id, "connection": connection, "connected_at": at},
            )
            await _seen(conn, device_id, at)

    async def tablet_disconnected(self, device_id: str, connection: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                tablet_status.update()
                .where(_status_c.device_id == device_id, _status_c.connection == connection)
                .values(connection=None)
            )
        return bool(result.rowcount)

    # ---- the fleet page ------------------------------------------------------------------

    async def entries(self) -> list[FleetEntry]:
        return await self._entries(sa.true())

    async def entry(self, device_id: str) -> FleetEntry | None:
        found = await self._entries(t.device.c.id == device_id)
        return found[0] if found else None

    async def _entries(self, where: Any) -> list[FleetEntry]:
        d, c = t.device.c, t.client.c
        query = (
            sa.select(
                t.device,
                c.first_name,
                c.last_name,
                *(_status_c[name] for name in ("connection", "heartbeat_at", *_HEARTBEAT_COLUMNS)),
            )
            .join(t.client, c.id == d.client_id)
            .outerjoin(tablet_status, _status_c.device_id == d.id)
            .where(d.revoked_at.is_(None), where)
            .order_by(c.last_name, c.first_name, d.created_at)
        )
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(query))
            ids = [row.id for row in rows]
            runs = await _latest_runs(conn, ids)
            alerts = await _open_alerts(conn, ids)
        return [
            FleetEntry(
                device=device_from_row(row),
                client_name=f"{row.first_name} {row.last_name}".strip(),
                last_seen_at=row.last_seen_at,
                connected=row.connection is not None,
                status=_status(row) if row.heartbeat_at is not None else None,
                selftest=runs.get(row.id),
                alert=alerts.get(row.id),
            )
            for row in rows
        ]

    # ---- self-tests ----------------------------------------------------------------------

    async def add_selftest(self, run: SelfTestRun, keep: int) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                tablet_selftest.insert().values(
                    run_id=run.run_id,
                    device_id=run.device_id,
                    client_id=run.client_id,
                    trigger=run.trigger.value,
                    requested_by=run.requested_by,
                    requested_at=run.requested_at,
                )
            )
            kept = (
                sa.select(_run_c.run_id)
                .where(_run_c.device_id == run.device_id)
                .order_by(_run_c.requested_at.desc())
                .limit(keep)
                .scalar_subquery()
            )
            await conn.execute(
                tablet_selftest.delete().where(
                    _run_c.device_id == run.device_id, _run_c.run_id.not_in(kept)
                )
            )

    async def selftest(self, run_id: str) -> SelfTestRun | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(tablet_selftest.select().where(_run_c.run_id == run_id))
            ).first()
        return _run(row) if row else None

    async def answer_selftest(
        self, run_id: str, device_id: str, checks: tuple[SelfTestCheck, ...], at: datetime
    ) -> SelfTestRun | None:
        async with self._engine.begin() as conn:
            # Conditional: only the device that was asked, and only once.
            result = await conn.execute(
                tablet_selftest.update()
                .where(
                    _run_c.run_id == run_id,
                    _run_c.device_id == device_id,
                    _run_c.answered_at.is_(None),
                )
                .values(answered_at=at, checks=[_check_json(check) for check in checks])
            )
            if not result.rowcount:
                return None
            row = (
                await conn.execute(tablet_selftest.select().where(_run_c.run_id == run_id))
            ).first()
        return _run(row) if row else None

    async def selftests_of(self, device_id: str) -> list[SelfTestRun]:
        query = (
            tablet_selftest.select()
            .where(_run_c.device_id == device_id)
            .order_by(_run_c.requested_at.desc())
        )
        async with self._engine.connect() as conn:
            return [_run(row) for row in await conn.execute(query)]

    # ---- offline alerts ------------------------------------------------------------------

    async def raise_offline_alerts(self, now: datetime, threshold: timedelta) -> list[OfflineAlert]:
        d = t.device.c
        last_seen = sa.func.coalesce(d.last_seen_at, d.created_at)
        has_open = sa.exists().where(_alert_c.device_id == d.id, _alert_c.cleared_at.is_(None))
        query = sa.select(d.id, d.client_id, d.last_seen_at, d.created_at).where(
            d.revoked_at.is_(None), last_seen < now - threshold, ~has_open
        )
        async with self._engine.connect() as conn:
            silent = list(await conn.execute(query))
        raised = []
        for row in silent:
            seen = _aware(row.last_seen_at or row.created_at)
            alert = OfflineAlert(
                alert_id=offline_alert_id(row.id, seen),
                device_id=row.id,
                client_id=row.client_id,
                last_seen_at=seen,
                raised_at=now,
            )
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(tablet_offline_alert.insert().values(**_alert_values(alert)))
            except IntegrityError:
                continue  # another instance raised this very alert a moment ago
            raised.append(alert)
        return raised

    async def clear_offline_alert(self, device_id: str, at: datetime) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                tablet_offline_alert.update()
                .where(_alert_c.device_id == device_id, _alert_c.cleared_at.is_(None))
                .values(cleared_at=at)
            )
        return bool(result.rowcount)

    async def clear_recovered_alerts(self, at: datetime) -> list[OfflineAlert]:
        d = t.device.c
        recovered = sa.exists().where(
            d.id == _alert_c.device_id,
            sa.or_(d.revoked_at.is_not(None), d.last_seen_at > _alert_c.last_seen_at),
        )
        async with self._engine.begin() as conn:
            rows = list(
                await conn.execute(
                    tablet_offline_alert.select().where(_alert_c.cleared_at.is_(None), recovered)
                )
            )
            if not rows:
                return []
            await conn.execute(
                tablet_offline_alert.update()
                .where(
                    _alert_c.alert_id.in_([row.alert_id for row in rows]),
                    _alert_c.cleared_at.is_(None),
                )
                .values(cleared_at=at)
            )
        return [_alert(row, cleared_at=at) for row in rows]

    async def open_alerts(self) -> list[OfflineAlert]:
        query = (
            tablet_offline_alert.select()
            .where(_alert_c.cleared_at.is_(None))
            .order_by(_alert_c.raised_at)
        )
        async with self._engine.connect() as conn:
            return [_alert(row) for row in await conn.execute(query)]


async def _upsert_status(conn: AsyncConnection, device_id: str, values: dict[str, Any]) -> None:
    updated = await conn.execute(
        tablet_status.update().where(_status_c.device_id == device_id).values(**values)
    )
    if updated.rowcount:
        return
    try:
        async with conn.begin_nested():
            await conn.execute(tablet_status.insert().values(device_id=device_id, **values))
    except IntegrityError:
        # Two sockets' first words about one tablet at once: the other inserted; update it.
        await conn.execute(
            tablet_status.update().where(_status_c.device_id == device_id).values(**values)
        )


async def _seen(conn: AsyncConnection, device_id: str, at: datetime) -> None:
    await conn.execute(t.device.update().where(t.device.c.id == device_id).values(last_seen_at=at))


async def _latest_runs(conn: AsyncConnection, device_ids: list[str]) -> dict[str, SelfTestRun]:
    if not device_ids:
        return {}
    ranked = (
        sa.select(
            tablet_selftest,
            sa.func.row_number()
            .over(partition_by=_run_c.device_id, order_by=_run_c.requested_at.desc())
            .label("rank"),
        )
        .where(_run_c.device_id.in_(device_ids))
        .subquery()
    )
    rows = await conn.execute(sa.select(ranked).where(ranked.c.rank == 1))
    return {row.device_id: _run(row) for row in rows}


async def _open_alerts(conn: AsyncConnection, device_ids: list[str]) -> dict[str, OfflineAlert]:
    if not device_ids:
        return {}
    rows = await conn.execute(
        tablet_offline_alert.select()
        .where(_alert_c.device_id.in_(device_ids), _alert_c.cleared_at.is_(None))
        .order_by(_alert_c.raised_at)
    )
    return {row.device_id: _alert(row) for row in rows}


def _aware(moment: datetime) -> datetime:
    """Values read through a subquery may bypass UtcDateTime on SQLite."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _status(row: Any) -> TabletStatus:
    return TabletStatus(
        device_id=row.id,
        client_id=row.client_id,
        received_at=row.heartbeat_at,
        app_version=row.app_version or "",
        connection_type=ConnectionType(row.connection_type or "unknown"),
        effective_type=EffectiveType(row.effective_type or "unknown"),
        downlink_mbps=row.downlink_mbps,
        rtt_ms=row.rtt_ms,
        camera=PermissionState(row.camera or "unknown"),
        microphone=PermissionState(row.microphone or "unknown"),
        screen=ScreenState(row.screen or "unknown"),
        battery_pct=row.battery_pct,
        charging=row.charging,
    )


def _check_json(check: SelfTestCheck) -> dict[str, str]:
    return {"name": check.name.value, "outcome": check.outcome.value, "detail": check.detail}


def _run(row: Any) -> SelfTestRun:
    checks = tuple(
        SelfTestCheck(
            name=CheckName(item["name"]),
            outcome=CheckOutcome(item["outcome"]),
            detail=str(item.get("detail", "")),
        )
        for item in (row.checks or [])
    )
    return SelfTestRun(
        run_id=row.run_id,
        device_id=row.device_id,
        client_id=row.client_id,
        trigger=RunTrigger(row.trigger),
        requested_by=row.requested_by,
        requested_at=_aware(row.requested_at),
        answered_at=_aware(row.answered_at) if row.answered_at is not None else None,
        checks=checks,
    )


def _alert_values(alert: OfflineAlert) -> dict[str, Any]:
    return {
        "alert_id": alert.alert_id,
        "device_id": alert.device_id,
        "client_id": alert.client_id,
        "last_seen_at": alert.last_seen_at,
        "raised_at": alert.raised_at,
        "cleared_at": alert.cleared_at,
    }


def _alert(row: Any, cleared_at: datetime | None = None) -> OfflineAlert:
    return OfflineAlert(
        alert_id=row.alert_id,
        device_id=row.device_id,
        client_id=row.client_id,
        last_seen_at=row.last_seen_at,
        raised_at=row.raised_at,
        cleared_at=cleared_at or row.cleared_at,
    )
