"""What the pages need from the rest of the process, built by the composition root (hoiva.app)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from care_services.checkins import CheckinService
from care_services.fleet import FleetService
from care_services.insight import InsightService
from care_services.ports import LiveSessions
from care_services.rooms import RoomService
from care_sessions.access_log import AccessLog
from care_sessions.auth import AuthService
from care_sessions.clock import Clock
from care_sessions.consent import ConsentLedger
from care_sessions.family import FamilyCircle
from care_sessions.ports import CareStore


@dataclass(frozen=True, kw_only=True)
class WebSettings:
    """The configuration the pages read."""

    secure_cookies: bool
    public_url: str | None
    behind_tls_proxy: bool
    metrics_token: str | None
    # The report's defaults for the visits a virtual one replaces.
    km_per_visit: float
    emission_g_per_km: float
    # The kiosk package (tablet_client/): its templates and its static assets.
    tablet_dir: Path


@dataclass(frozen=True, kw_only=True)
class WebDeps:
    """The application layer as the pages call it: domain services and care services."""

    settings: WebSettings
    clock: Clock
    store: CareStore
    auth: AuthService
    access_log: AccessLog
    consents: ConsentLedger
    family: FamilyCircle
    live: LiveSessions
    checkins: CheckinService | None = None
    rooms: RoomService | None = None
    insight: InsightService | None = None
    fleet: FleetService | None = None
