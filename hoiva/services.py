"""The services one Hoiva process runs, built once by hoiva.app and handed to every edge."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from care_sessions.access_log import AccessLog
from care_sessions.auth import AuthService
from care_sessions.clock import Clock
from care_sessions.consent import ConsentLedger
from care_sessions.family import FamilyCircle
from care_sessions.ports import CareStore
from hoiva.config import Config

if TYPE_CHECKING:
    from care_services.checkins import CheckinService
    from care_services.fleet import FleetService
    from care_services.insight import InsightService
    from care_services.ports import LiveSessions
    from hoiva.runtime import SignalingRuntime
    from media.server import MediaServer


@dataclass
class Services:
    config: Config
    clock: Clock
    store: CareStore
    auth: AuthService
    media: MediaServer
    signaling: SignalingRuntime
    access_log: AccessLog
    consents: ConsentLedger
    family: FamilyCircle
    # Quality, camera hints, recordings and /metrics (care_services/insight.py).
    insight: InsightService | None = None
    # Tablet heartbeats, remote settings, self-tests and offline alerts (care_services/fleet.py).
    fleet: FleetService | None = None

    @property
    def checkins(self) -> CheckinService | None:
        return self.signaling.checkins

    @property
    def live(self) -> LiveSessions:
        """Presence and device cut-off, as the pages and the data-rights export use them."""
        return self.signaling
