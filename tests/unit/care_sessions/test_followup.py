"""The check-in lifecycle on a controlled clock: due, missed, rings again, escalation timing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, Completer, PlanItem
from care_sessions.checkins import Checkin, CheckinStatus
from care_sessions.followup import (
    Action,
    FollowupPolicy,
    TabletState,
    escalation_text,
    next_step,
    steps_until,
)
from care_sessions.schedule import at_local, expand_day
from tests.fake_clock import FakeClock

DAY = date(2026, 11, 30)
POLICY = FollowupPolicy(
    retries=2, retry_interval=timedelta(minutes=10), home_visit_after=timedelta(minutes=60)
)


def _checkin(completed_by: Completer = Completer.CLIENT, remind: bool = True) -> Checkin:
    kind = CheckinKind.MEDICATION if completed_by is Completer.CLIENT else CheckinKind.VISIT
    item = PlanItem(
        id="item-1",
        client_id="client-1",
        kind=kind,
        label="evening medicine",
        weekdays=ALL_WEEKDAYS,
        times=(time(18, 0),),
        window_min=30,
        remind=remind,
        completed_by=completed_by,
        medication="Metformin",
        dose="500 mg",
    )
    return expand_day(item, DAY)[0]


def _local(hh: int, mm: int) -> datetime:
    return at_local(DAY, time(hh, mm))


def _run(checkin: Checkin, clock: FakeClock) -> tuple[Checkin, list[Action]]:
    steps = steps_until(checkin, clock.now(), POLICY)
    return (steps[-1].after if steps else checkin), [s.action for s in steps]


def test_nothing_happens_before_the_window_opens() -> None:
    checkin = _checkin()
    assert next_step(checkin, _local(17, 29), POLICY) is None


def test_client_checkin_full_timeline() -> None:
    """17:30 due + reminder; 18:30 missed + ring; 18:40 ring; 18:50 escalate; 19:50 visit."""
    clock = FakeClock(_local(17, 30))
    checkin = _checkin()

    checkin, actions = _run(checkin, clock)
    assert (checkin.status, actions) == (CheckinStatus.DUE, [Action.REMIND])
    assert checkin.due_at == _local(17, 30)
    assert checkin.next_action_at == _local(18, 30)

    clock.set(_local(18, 29))
    assert _run(checkin, clock) == (checkin, [])

    clock.set(_local(18, 30))
    checkin, actions = _run(checkin, clock)
    assert (checkin.status, checkin.attempts, actions) == (
        CheckinStatus.MISSED,
        1,
        [Action.RING_AGAIN],
    )
    assert checkin.missed_at == _local(18, 30)
    assert checkin.next_action_at == _local(18, 40)

    clock.set(_local(18, 40))
    checkin, actions = _run(checkin, clock)
    assert (checkin.status, checkin.attempts, actions) == (
        CheckinStatus.MISSED,
        2,
        [Action.RING_AGAIN],
    )
    assert checkin.next_action_at == _local(18, 50)

    clock.set(_local(18, 50))
    checkin, actions = _run(checkin, clock)
    assert (checkin.status, actions) == (CheckinStatus.ESCALATED, [Action.ESCALATE])
    assert checkin.escalated_at == _local(18, 50)
    assert checkin.next_action_at == _local(19, 50)

    clock.set(_local(19, 49))
    assert _run(checkin, clock)[1] == []
    clock.set(_local(19, 50))
    checkin, actions = _run(checkin, clock)
    assert (checkin.status, actions) == (CheckinStatus.HOME_VISIT, [Action.HOME_VISIT])
    assert checkin.next_action_at is None
    clock.advance(timedelta(days=1))
    assert _run(checkin, clock)[1] == [], "a home-visit task waits for people"


def test_every_step_records_a_system_event() -> None:
    checkin = _checkin()
    step = next_step(checkin, _local(17, 30), POLICY)
    assert step is not None
    assert step.event.from_status is CheckinStatus.SCHEDULED
    assert step.event.to_status is CheckinStatus.DUE
    assert step.event.actor.role == "system" and step.event.actor.subject_id is None
    assert step.event.at == _local(17, 30)


def test_nurse_checkin_escalates_as_soon_as_it_is_missed() -> None:
    """No tablet to ring: the window passing puts it straight into the nurses' queue."""
    checkin = _checkin(Completer.NURSE)
    checkin, actions = _run(checkin, FakeClock(_local(17, 30)))
    assert actions == [Action.NONE], "a nurse's check-in does not remind the tablet"
    checkin, actions = _run(checkin, FakeClock(_local(18, 30)))
    assert actions == [Action.NONE, Action.ESCALATE]
    assert checkin.status is CheckinStatus.ESCALATED
    assert checkin.missed_at == checkin.escalated_at == _local(18, 30)


def test_no_reminder_when_the_plan_says_so_but_retries_still_ring() -> None:
    checkin = _checkin(remind=False)
    checkin, actions = _run(checkin, FakeClock(_local(17, 30)))
    assert actions == [Action.NONE]
    _, actions = _run(checkin, FakeClock(_local(18, 30)))
    assert actions == [Action.RING_AGAIN]


def test_zero_retries_escalate_at_once() -> None:
    policy = replace(POLICY, retries=0)
    checkin = replace(_checkin(), status=CheckinStatus.DUE, next_action_at=_local(18, 30))
    steps = steps_until(checkin, _local(18, 30), policy)
    assert [s.action for s in steps] == [Action.NONE, Action.ESCALATE]


def test_a_server_back_after_downtime_still_rings_before_escalating() -> None:
    """Down from 17:00 to 18:45: the check-in is missed as of 18:30 but rings now, and the
    next retry is counted from now, not from the deadline the server slept through."""
    now = _local(18, 45)
    checkin, actions = _run(_checkin(), FakeClock(now))
    assert actions == [Action.REMIND, Action.RING_AGAIN]
    assert checkin.status is CheckinStatus.MISSED
    assert checkin.missed_at == _local(18, 30)
    assert checkin.next_action_at == now + timedelta(minutes=10)


def test_done_and_cancelled_checkins_have_no_steps() -> None:
    for status in (CheckinStatus.DONE, CheckinStatus.CANCELLED):
        checkin = replace(_checkin(), status=status, next_action_at=None)
        assert next_step(checkin, _local(23, 0), POLICY) is None


def test_escalation_text_says_who_what_and_the_tablet() -> None:
    checkin = _checkin()
    offline = TabletState(False, datetime(2026, 11, 30, 15, 42, tzinfo=UTC))  # 17:42 local
    assert (
        escalation_text("Aino K.", checkin, offline)
        == "Aino K. has not confirmed the 18:00 evening medicine; tablet offline since 17:42"
    )
    assert escalation_text("Aino K.", checkin, TabletState(True)).endswith(
        "tablet online, rang without an answer"
    )
    nurse = _checkin(Completer.NURSE)
    assert "was not recorded by a nurse" in escalation_text("Eino V.", nurse, TabletState(False))
