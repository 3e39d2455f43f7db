"""The fleet's rules: connection quality, self-test answers, the daily round across DST,
offline alerts and who counts as online."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from care_sessions.errors import InvalidInput
from care_sessions.fleet import (
    CheckName,
    CheckOutcome,
    EffectiveType,
    FleetEntry,
    Quality,
    RunState,
    RunTrigger,
    SelfTestCheck,
    SelfTestRun,
    checked_results,
    connection_quality,
    next_daily_run,
    offline_alert_id,
    online_window,
    silent_too_long,
)
from care_sessions.identity import Device
from care_sessions.schedule import HELSINKI

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("rtt_ms", "effective", "quality"),
    [
        (None, EffectiveType.UNKNOWN, Quality.UNKNOWN),
        (20.0, EffectiveType.UNKNOWN, Quality.GOOD),
        (20.0, EffectiveType.G4, Quality.GOOD),
        (250.0, EffectiveType.G4, Quality.GOOD),
        (251.0, EffectiveType.G4, Quality.FAIR),
        (20.0, EffectiveType.G3, Quality.FAIR),
        (601.0, EffectiveType.G4, Quality.POOR),
        (None, EffectiveType.SLOW_2G, Quality.POOR),
        (300.0, EffectiveType.G2, Quality.POOR),  # the worse of the two wins
    ],
)
def test_connection_quality(
    rtt_ms: float | None, effective: EffectiveType, quality: Quality
) -> None:
    assert connection_quality(rtt_ms, effective) is quality


def _check(name: CheckName, outcome: CheckOutcome = CheckOutcome.PASS) -> SelfTestCheck:
    return SelfTestCheck(name, outcome)


def test_checked_results_are_ordered_and_unique() -> None:
    checks = checked_results(
        [_check(CheckName.TURN, CheckOutcome.SKIPPED), _check(CheckName.CAMERA)]
    )
    assert [c.name for c in checks] == [CheckName.CAMERA, CheckName.TURN]
    with pytest.raises(InvalidInput):
        checked_results([])
    with pytest.raises(InvalidInput):
        checked_results([_check(CheckName.CAMERA), _check(CheckName.CAMERA, CheckOutcome.FAIL)])
    with pytest.raises(InvalidInput):
        checked_results([SelfTestCheck(CheckName.CAMERA, CheckOutcome.PASS, "x" * 201)])


def test_a_run_passes_unless_a_check_failed_and_times_out_unanswered() -> None:
    run = SelfTestRun("r", "d", "c", RunTrigger.REQUESTED, "u", requested_at=NOW)
    timeout = timedelta(seconds=60)
    assert run.state(NOW + timedelta(seconds=59), timeout) is RunState.RUNNING
    assert run.state(NOW + timedelta(seconds=61), timeout) is RunState.NO_ANSWER
    skipped = (_check(CheckName.CAMERA), _check(CheckName.TURN, CheckOutcome.SKIPPED))
    answered = SelfTestRun(
        "r", "d", "c", RunTrigger.DAILY, "system", NOW, answered_at=NOW, checks=skipped
    )
    assert answered.state(NOW + timedelta(days=1), timeout) is RunState.PASSED
    failed = SelfTestRun(
        "r",
        "d",
        "c",
        RunTrigger.DAILY,
        "system",
        NOW,
        answered_at=NOW,
        checks=(*skipped, _check(CheckName.MICROPHONE, CheckOutcome.FAIL)),
    )
    assert failed.state(NOW, timeout) is RunState.FAILED


@pytest.mark.parametrize(
    ("now_local", "at", "expected_local"),
    [
        # Later today, and tomorrow once today's moment has passed.
        (datetime(2026, 11, 30, 2, 0), time(3, 0), datetime(2026, 11, 30, 3, 0)),
        (datetime(2026, 11, 30, 3, 0), time(3, 0), datetime(2026, 12, 1, 3, 0)),
        # Spring forward (29 March 2026, 03:00 -> 04:00): 03:30 happens at 04:30.
        (datetime(2026, 3, 28, 12, 0), time(3, 30), datetime(2026, 3, 29, 4, 30)),
        # Autumn back (25 October 2026, 04:00 -> 03:00): 03:30 happens once.
        (datetime(2026, 10, 24, 12, 0), time(3, 30), datetime(2026, 10, 25, 3, 30)),
    ],
)
def test_the_daily_round_follows_helsinki_time(
    now_local: datetime, at: time, expected_local: datetime
) -> None:
    now = now_local.replace(tzinfo=HELSINKI).astimezone(UTC)
    moment = next_daily_run(now, at)
    assert moment > now
    assert moment.astimezone(HELSINKI).replace(tzinfo=None) == expected_local


def test_the_autumn_round_runs_once() -> None:
    first = next_daily_run(datetime(2026, 10, 24, 12, 0, tzinfo=HELSINKI), time(3, 30))
    second = next_daily_run(first, time(3, 30))
    assert second - first > timedelta(hours=23)
    assert second.astimezone(HELSINKI).date().isoformat() == "2026-10-26"


def test_an_alert_id_names_one_silence() -> None:
    seen = NOW - timedelta(minutes=20)
    assert offline_alert_id("dev", seen) == offline_alert_id("dev", seen)
    assert offline_alert_id("dev", seen) != offline_alert_id("dev", seen + timedelta(seconds=1))
    assert offline_alert_id("dev", seen) != offline_alert_id("other", seen)
    assert silent_too_long(seen, NOW, timedelta(minutes=15))
    assert not silent_too_long(seen, NOW, timedelta(minutes=20))


def test_online_means_connected_and_recently_heard() -> None:
    device = Device("d", "c", NOW - timedelta(days=3))
    window = online_window(30.0)
    assert window == timedelta(seconds=75)
    assert online_window(0.3) == timedelta(seconds=5)  # never tighter than a blink

    def entry(connected: bool, seen: datetime | None) -> FleetEntry:
        return FleetEntry(device, "Aino K.", last_seen_at=seen, connected=connected)

    assert entry(True, NOW - timedelta(seconds=30)).online(NOW, window)
    assert not entry(False, NOW - timedelta(seconds=30)).online(NOW, window)
    # A server that died without closing its sockets leaves `connected` behind.
    assert not entry(True, NOW - timedelta(minutes=5)).online(NOW, window)
    assert not entry(True, None).online(NOW, window)
