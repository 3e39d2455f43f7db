"""Each care service's settings, read from the one configuration tree."""

from __future__ import annotations

from care_services.settings import (
    CallSettings,
    CheckinSettings,
    EchoSettings,
    FleetSettings,
    InsightSettings,
)
from hoiva.config import Config
from media.call_insight import AnalysisSettings


def call_settings(config: Config) -> CallSettings:
    calls = config.calls
    return CallSettings(
        ring_timeout_s=calls.ring_timeout_s,
        drop_grace_s=calls.drop_grace_s,
        media_timeout_s=calls.media_timeout_s,
    )


def checkin_settings(config: Config) -> CheckinSettings:
    care = config.care
    return CheckinSettings(
        retries=care.retries,
        retry_interval_min=care.retry_interval_min,
        home_visit_after_min=care.home_visit_after_min,
        attention_every_min=care.attention_every_min,
        scheduler_poll_s=care.scheduler_poll_s,
        km_per_visit=care.km_per_visit,
    )


def echo_settings(config: Config) -> EchoSettings:
    return EchoSettings(
        echo_max_s=config.probe.echo_max_s, max_echo_tests=config.probe.max_echo_tests
    )


def fleet_settings(config: Config) -> FleetSettings:
    fleet = config.fleet
    return FleetSettings(
        heartbeat_s=fleet.heartbeat_s,
        offline_alert_after_s=fleet.offline_alert_after_s,
        offline_check_s=fleet.offline_check_s,
        daily_selftest_time=fleet.daily_selftest_time,
        selftest_timeout_s=fleet.selftest_timeout_s,
        selftest_history=fleet.selftest_history,
    )


def insight_settings(config: Config) -> InsightSettings:
    insight = config.insight
    return InsightSettings(
        analyse_calls=insight.analyse_calls,
        quality_interval_s=insight.quality_interval_s,
        recordings_dir=insight.recordings_dir,
        recording_key=insight.recording_key,
        recording_retention_days=insight.recording_retention_days,
        retention_check_s=insight.retention_check_s,
    )


def analysis_settings(config: Config) -> AnalysisSettings:
    insight = config.insight
    return AnalysisSettings(
        analysis_fps=insight.analysis_fps,
        keyframe_interval_s=insight.keyframe_interval_s,
        no_face_after_s=insight.no_face_after_s,
    )
