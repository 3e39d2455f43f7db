"""What the fleet needs from storage; store/fleet_store.py implements it.

The store is the source of truth for every instance of a deployment: heartbeats, which
socket holds a tablet, self-test runs and offline alerts all live there, so that any
instance can answer the fleet page and only one instance raises each alert.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from care_sessions.fleet import FleetEntry, OfflineAlert, SelfTestCheck, SelfTestRun, TabletStatus
from care_sessions.identity import Device


class FleetStore(Protocol):
    async def device(self, device_id: str) -> Device | None: ...

    async def save_heartbeat(self, status: TabletStatus) -> None:
        """Keep the latest heartbeat of the device and note that it was seen."""
        ...

    async def tablet_connected(
        self, device_id: str, client_id: str, connection: str, at: datetime
    ) -> None:
        """This socket holds the device now; the client's other tablets hold none."""
        ...

    async def tablet_disconnected(self, device_id: str, connection: str) -> bool:
        """Forget the socket if it is still the one on record; True when it was."""
        ...

    async def entries(self) -> list[FleetEntry]:
        """Every tablet that is not revoked, with its client, status, self-test and alert."""
        ...

    async def entry(self, device_id: str) -> FleetEntry | None: ...

    async def add_selftest(self, run: SelfTestRun, keep: int) -> None:
        """Store a new run; only the device's `keep` latest runs are kept."""
        ...

    async def selftest(self, run_id: str) -> SelfTestRun | None: ...

    async def answer_selftest(
        self, run_id: str, device_id: str, checks: tuple[SelfTestCheck, ...], at: datetime
    ) -> SelfTestRun | None:
        """Record the answer if the run is this device's and still open; else None."""
        ...

    async def selftests_of(self, device_id: str) -> list[SelfTestRun]:
        """The device's kept runs, latest first."""
        ...

    async def raise_offline_alerts(self, now: datetime, threshold: timedelta) -> list[OfflineAlert]:
        """Open an alert for every tablet silent longer than `threshold` without one;
        returns only those this call opened (another instance may have opened the rest)."""
        ...

    async def clear_offline_alert(self, device_id: str, at: datetime) -> bool:
        """The tablet was heard: close its open alert; True when there was one."""
        ...

    async def clear_recovered_alerts(self, at: datetime) -> list[OfflineAlert]:
        """Close alerts of tablets that were heard since, or revoked; returns them."""
        ...

    async def open_alerts(self) -> list[OfflineAlert]: ...
