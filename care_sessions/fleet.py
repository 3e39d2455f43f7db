"""The tablet fleet in plain Python: what a tablet reports, self-tests, offline alerts.

Tablets are handed out and run by the care service, so staff must see every device without
visiting it: its latest heartbeat (app version, connection, permissions, screen, battery),
the result of its latest self-test, and whether it has gone silent for too long. This module
holds the values and the rules; store/fleet_store.py keeps them and care_services/fleet.py
runs them.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from care_sessions.errors import InvalidInput
from care_sessions.identity import Device
from care_sessions.schedule import at_local, local_day


class PermissionState(enum.StrEnum):
    """What navigator.permissions says about the camera or the microphone."""

    GRANTED = "granted"
    DENIED = "denied"
    PROMPT = "prompt"
    UNKNOWN = "unknown"


class ScreenState(enum.StrEnum):
    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class ConnectionType(enum.StrEnum):
    """navigator.connection.type where the browser tells (Android, ChromeOS); else unknown."""

    WIFI = "wifi"
    CELLULAR = "cellular"
    ETHERNET = "ethernet"
    BLUETOOTH = "bluetooth"
    WIMAX = "wimax"
    MIXED = "mixed"
    OTHER = "other"
    NONE = "none"
    UNKNOWN = "unknown"


class EffectiveType(enum.StrEnum):
    """navigator.connection.effectiveType: the browser's estimate of the link's class."""

    SLOW_2G = "slow-2g"
    G2 = "2g"
    G3 = "3g"
    G4 = "4g"
    UNKNOWN = "unknown"


class Quality(enum.StrEnum):
    GOOD = "good"
    FAIR = "fair"
    POOR = "poor"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class QualityRule:
    """A link is at best `quality` when its round trip exceeds `rtt_above_ms` or its
    effective type is one of `effective_types`."""

    quality: Quality
    rtt_above_ms: float
    effective_types: frozenset[EffectiveType]


# Rules as data, worst first. A video call needs a round trip well under half a second;
# the browser's own estimate catches links that our ping has not yet measured.
QUALITY_RULES: tuple[QualityRule, ...] = (
    QualityRule(Quality.POOR, 600.0, frozenset({EffectiveType.SLOW_2G, EffectiveType.G2})),
    QualityRule(Quality.FAIR, 250.0, frozenset({EffectiveType.G3})),
)


def connection_quality(rtt_ms: float | None, effective_type: EffectiveType) -> Quality:
    """Good, fair or poor from the WebSocket round trip and the browser's estimate."""
    if rtt_ms is None and effective_type is EffectiveType.UNKNOWN:
        return Quality.UNKNOWN
    for rule in QUALITY_RULES:
        if (rtt_ms is not None and rtt_ms > rule.rtt_above_ms) or (
            effective_type in rule.effective_types
        ):
            return rule.quality
    return Quality.GOOD


@dataclass(frozen=True)
class TabletStatus:
    """One heartbeat: the latest of these per device is what the fleet page shows."""

    device_id: str
    client_id: str
    received_at: datetime
    app_version: str
    connection_type: ConnectionType = ConnectionType.UNKNOWN
    effective_type: EffectiveType = EffectiveType.UNKNOWN
    downlink_mbps: float | None = None
    rtt_ms: float | None = None  # WebSocket ping round trip measured by the tablet
    camera: PermissionState = PermissionState.UNKNOWN
    microphone: PermissionState = PermissionState.UNKNOWN
    screen: ScreenState = ScreenState.UNKNOWN
    battery_pct: int | None = None
    charging: bool | None = None

    @property
    def quality(self) -> Quality:
        return connection_quality(self.rtt_ms, self.effective_type)


# ---- self-test ---------------------------------------------------------------------------


class CheckName(enum.StrEnum):
    CAMERA = "camera"
    MICROPHONE = "microphone"
    SPEAKER = "speaker"
    MEDIA_SERVER = "media_server"
    TURN = "turn"


class CheckOutcome(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    SKIPPED = "skipped"  # e.g. TURN when none is configured


class RunTrigger(enum.StrEnum):
    REQUESTED = "requested"  # an admin pressed "Run self-test"
    DAILY = "daily"  # the server's daily round (fleet.daily_selftest_at)


class RunState(enum.StrEnum):
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    NO_ANSWER = "no_answer"


DETAIL_MAX = 200
SYSTEM_REQUESTER = "system"


@dataclass(frozen=True)
class SelfTestCheck:
    name: CheckName
    outcome: CheckOutcome
    detail: str = ""


@dataclass(frozen=True)
class SelfTestRun:
    """One self-test: asked of one device, answered (or not) by it."""

    run_id: str
    device_id: str
    client_id: str
    trigger: RunTrigger
    requested_by: str
    requested_at: datetime
    answered_at: datetime | None = None
    checks: tuple[SelfTestCheck, ...] = ()

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def passed(self) -> bool:
        """Answered with no failing check (skipped checks are not failures)."""
        return self.answered and all(c.outcome is not CheckOutcome.FAIL for c in self.checks)

    def state(self, now: datetime, timeout: timedelta) -> RunState:
        if self.answered:
            return RunState.PASSED if self.passed else RunState.FAILED
        if now - self.requested_at > timeout:
            return RunState.NO_ANSWER
        return RunState.RUNNING


def checked_results(checks: Sequence[SelfTestCheck]) -> tuple[SelfTestCheck, ...]:
    """A tablet's answer as it may be stored: each check at most once, at least one."""
    if not checks:
        raise InvalidInput("a self-test result needs at least one check")
    names = [check.name for check in checks]
    if len(set(names)) != len(names):
        raise InvalidInput("each check may appear once in a self-test result")
    for check in checks:
        if len(check.detail) > DETAIL_MAX:
            raise InvalidInput(f"a check's detail is at most {DETAIL_MAX} characters")
    # In the order the fleet page lists them, whatever order the tablet sent.
    order = list(CheckName)
    return tuple(sorted(checks, key=lambda c: order.index(c.name)))


def next_daily_run(now: datetime, at: time) -> datetime:
    """The next Helsinki wall-clock `at` strictly after `now` (DST as care_sessions.schedule)."""
    day: date = local_day(now)
    moment = at_local(day, at)
    while moment <= now:
        day += timedelta(days=1)
        moment = at_local(day, at)
    return moment


# ---- online and offline ------------------------------------------------------------------


@dataclass(frozen=True)
class OfflineAlert:
    """A tablet silent for longer than the threshold; cleared when it is heard again."""

    alert_id: str
    device_id: str
    client_id: str
    last_seen_at: datetime
    raised_at: datetime
    cleared_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.cleared_at is None


def offline_alert_id(device_id: str, last_seen_at: datetime) -> str:
    """Deterministic per silence: every instance that notices it computes the same id, so
    the alert is raised once however many servers check at the same moment."""
    return f"{device_id}:{int(last_seen_at.timestamp() * 1000)}"


def silent_too_long(last_seen_at: datetime, now: datetime, threshold: timedelta) -> bool:
    return now - last_seen_at > threshold


def online_window(heartbeat_s: float) -> timedelta:
    """A connected tablet that missed two heartbeats and a half is shown offline."""
    return timedelta(seconds=max(2.5 * heartbeat_s, 5.0))


@dataclass(frozen=True)
class FleetEntry:
    """One tablet as the fleet page lists it."""

    device: Device
    client_name: str
    last_seen_at: datetime | None
    connected: bool
    status: TabletStatus | None = None
    selftest: SelfTestRun | None = None
    alert: OfflineAlert | None = None

    def online(self, now: datetime, window: timedelta) -> bool:
        """Connected (by the store's record) and heard from recently: a server that died
        without closing its sockets leaves `connected` behind, the silence does not lie."""
        return (
            self.connected
            and self.last_seen_at is not None
            and not silent_too_long(self.last_seen_at, now, window)
        )


def connection_key(instance_id: str, connection_id: int) -> str:
    """Which socket holds a tablet: a later socket elsewhere must not be undone by the
    close of an earlier one, so disconnects only clear their own key."""
    return f"{instance_id}:{connection_id}"
