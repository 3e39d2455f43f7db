"""Each service's own settings, plain values; hoiva/app.py builds them from the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time


@dataclass(frozen=True, kw_only=True)
class CallSettings:
    """Timers of a care call (config section `calls`)."""

    ring_timeout_s: float = 45.0
    # How long a participant whose socket dropped may take to come back before the call ends.
    drop_grace_s: float = 10.0
    media_timeout_s: float = 20.0


@dataclass(frozen=True, kw_only=True)
class CheckinSettings:
    """Retries, escalation and the scheduler's pace (config section `care`)."""

    retries: int = 2
    retry_interval_min: float = 10.0
    home_visit_after_min: float = 60.0
    attention_every_min: float = 60.0
    scheduler_poll_s: float = 30.0
    # The care plan page's default round trip for a visit a virtual one replaces.
    km_per_visit: float = 12.0


@dataclass(frozen=True, kw_only=True)
class EchoSettings:
    """Echo tests (config section `probe`)."""

    echo_max_s: float = 30.0
    max_echo_tests: int = 20


@dataclass(frozen=True, kw_only=True)
class FleetSettings:
    """Heartbeats, offline alerts and daily self-tests (config section `fleet`)."""

    heartbeat_s: float = 30.0
    offline_alert_after_s: float = 900.0
    offline_check_s: float = 60.0
    daily_selftest_time: time | None = time(3, 0)
    selftest_timeout_s: float = 60.0
    selftest_history: int = 20


@dataclass(frozen=True, kw_only=True)
class InsightSettings:
    """Call quality, camera checks and consented recording (config section `insight`)."""

    # Analyse the client's camera in 1:1 care calls (how hard: media.call_insight).
    analyse_calls: bool = True
    quality_interval_s: float = 2.0
    recordings_dir: str = "var/recordings"
    recording_key: str | None = None
    recording_retention_days: float = 30.0
    retention_check_s: float = 3600.0
