"""Plan expansion on a controlled clock, across Helsinki's spring and autumn DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from care_sessions.care_plans import (
    ALL_WEEKDAYS,
    CheckinKind,
    Completer,
    PlanItem,
    parse_times,
    weekdays_from_mask,
    weekdays_mask,
)
from care_sessions.checkins import CheckinStatus
from care_sessions.errors import InvalidInput
from care_sessions.schedule import (
    HELSINKI,
    Scheduler,
    at_local,
    day_bounds,
    expand,
    expand_day,
    expansion_window,
    local_day,
)
from tests.fake_clock import FakeClock

SPRING = date(2026, 3, 29)  # last Sunday of March: 03:00 EET -> 04:00 EEST
AUTUMN = date(2026, 10, 25)  # last Sunday of October: 04:00 EEST -> 03:00 EET


def _item(times: str = "08:00,18:00", weekdays: frozenset[int] = ALL_WEEKDAYS) -> PlanItem:
    return PlanItem(
        id="11111111-2222-3333-4444-555555555555",
        client_id="client-1",
        kind=CheckinKind.MEDICATION,
        label="medicine",
        weekdays=weekdays,
        times=parse_times(times),
        window_min=30,
        medication="Metformin",
        dose="500 mg",
    )


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_wall_clock_time_is_the_same_every_day_whatever_the_utc_offset() -> None:
    """08:00 in Helsinki is 06:00 UTC in winter and 05:00 UTC in summer."""
    before = expand_day(_item("08:00"), SPRING - timedelta(days=1))
    on = expand_day(_item("08:00"), SPRING)
    after = expand_day(_item("08:00"), SPRING + timedelta(days=1))
    assert [c.scheduled_at for c in before + on + after] == [
        _utc(2026, 3, 28, 6, 0),
        _utc(2026, 3, 29, 5, 0),
        _utc(2026, 3, 30, 5, 0),
    ]
    assert all(c.scheduled_at.astimezone(HELSINKI).time() == time(8) for c in before + on + after)
    # The spring day is 23 hours long, so consecutive 08:00s are 23 h apart across it.
    assert on[0].scheduled_at - before[0].scheduled_at == timedelta(hours=23)


def test_autumn_day_is_25_hours_and_wall_times_keep_their_meaning() -> None:
    first = expand_day(_item("18:00"), AUTUMN - timedelta(days=1))[0]
    second = expand_day(_item("18:00"), AUTUMN)[0]
    assert first.scheduled_at == _utc(2026, 10, 24, 15, 0)
    assert second.scheduled_at == _utc(2026, 10, 25, 16, 0)
    assert second.scheduled_at - first.scheduled_at == timedelta(hours=25)
    start, end = day_bounds(AUTUMN)
    assert end - start == timedelta(hours=25)
    assert day_bounds(SPRING)[1] - day_bounds(SPRING)[0] == timedelta(hours=23)


def test_time_in_the_skipped_spring_hour_happens_an_hour_later() -> None:
    """03:30 does not exist on the spring day: it happens at 04:30 summer time, once."""
    [checkin] = expand_day(_item("03:30"), SPRING)
    assert checkin.scheduled_at == _utc(2026, 3, 29, 1, 30)
    assert checkin.scheduled_at.astimezone(HELSINKI).strftime("%H:%M") == "04:30"
    assert checkin.local_time == time(3, 30), "the plan's time is kept for texts and rules"


def test_time_in_the_repeated_autumn_hour_happens_once_at_its_first_occurrence() -> None:
    checkins = expand_day(_item("03:30"), AUTUMN)
    assert len(checkins) == 1
    assert checkins[0].scheduled_at == _utc(2026, 10, 25, 0, 30)  # 03:30 EEST (UTC+3)


def test_windows_are_real_durations_across_the_change() -> None:
    """A +-30 min window around 03:15 on the spring day is still 60 real minutes."""
    [checkin] = expand_day(_item("02:45"), SPRING)
    assert checkin.closes_at - checkin.opens_at == timedelta(minutes=60)
    assert checkin.next_action_at == checkin.opens_at
    assert checkin.status is CheckinStatus.SCHEDULED


def test_ids_are_deterministic_so_expanding_twice_adds_nothing() -> None:
    once = expand_day(_item(), date(2026, 11, 30))
    again = expand_day(_item(), date(2026, 11, 30))
    assert [c.id for c in once] == [c.id for c in again]
    assert once[0].id == "11111111-2222-3333-4444-555555555555:2026-11-30:0800"
    assert len(once[0].id) <= 64


def test_weekdays_select_the_days() -> None:
    weekdays = weekdays_from_mask("1010000")  # Monday and Wednesday
    assert weekdays_mask(weekdays) == "1010000"
    monday = date(2026, 11, 30)
    days = [monday + timedelta(days=n) for n in range(7)]
    expanded = expand([_item("09:00", weekdays)], days, not_before=_utc(2026, 11, 1))
    assert [c.local_date.weekday() for c in expanded] == [0, 2]


def test_expansion_skips_windows_that_already_closed() -> None:
    """A plan added at 19:00 gets no 18:00 check-in today, but tomorrow's."""
    now = at_local(date(2026, 11, 30), time(19, 0))
    days = expansion_window(now).days
    assert days == (date(2026, 11, 30), date(2026, 12, 1))
    expanded = expand([_item()], days, not_before=now)
    assert [(c.local_date.day, c.time_text) for c in expanded] == [(1, "08:00"), (1, "18:00")]
    # 18:15 is still inside the +-30 min window: that check-in is created.
    at_1815 = at_local(date(2026, 11, 30), time(18, 15))
    assert "18:00" in [
        c.time_text for c in expand([_item()], [date(2026, 11, 30)], not_before=at_1815)
    ]


def test_scheduler_follows_the_injected_clock_over_midnight() -> None:
    clock = FakeClock(at_local(date(2026, 3, 28), time(23, 50)))
    scheduler = Scheduler(clock)
    window = scheduler.window()
    assert window.days == (date(2026, 3, 28), SPRING)
    assert window.next_expansion_at == at_local(SPRING, time(0))
    clock.set(window.next_expansion_at)
    assert scheduler.window().days == (SPRING, SPRING + timedelta(days=1))
    assert local_day(clock.now()) == SPRING
    ids = {c.id for c in scheduler.checkins_for([_item()])}
    assert f"{_item().id}:2026-03-29:0800" in ids and len(ids) == 4


def test_invalid_plan_items_name_every_problem() -> None:
    bad = PlanItem(
        id="x",
        client_id="c",
        kind=CheckinKind.VISIT,
        label="",
        weekdays=frozenset(),
        times=(),
        window_min=1,
        completed_by=Completer.CLIENT,
    )
    with pytest.raises(InvalidInput) as info:
        bad.validate()
    message = str(info.value)
    for fragment in ("name", "weekday", "times", "window", "completed by a nurse"):
        assert fragment in message
    with pytest.raises(InvalidInput, match="needs the medicine"):
        PlanItem("x", "c", CheckinKind.MEDICATION, "pills", ALL_WEEKDAYS, (time(8),)).validate()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8:00, 18.30", (time(8), time(18, 30))), ("21:15 07:05", (time(7, 5), time(21, 15)))],
)
def test_times_are_parsed_as_people_type_them(text: str, expected: tuple[time, ...]) -> None:
    assert parse_times(text) == expected


@pytest.mark.parametrize("text", ["25:00", "8", "noon", "08:60"])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_times(text)
