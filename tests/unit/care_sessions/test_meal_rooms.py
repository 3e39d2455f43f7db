"""Meal rooms as plain rules: schedules on a fake clock, seating, host controls, attendance."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from care_sessions.errors import Busy, Forbidden, InvalidInput, InvalidState
from care_sessions.meal_rooms import (
    LeaveReason,
    MealRoom,
    RoomKind,
    RoomPlanner,
    RoomSchedule,
    SessionEndReason,
    Visit,
    attendance,
)
from care_sessions.room_sessions import MAIN_GROUP, SIDE_GROUP, LiveSession, SeatRole
from tests.fake_clock import FakeClock

LUNCH = RoomSchedule(weekdays=frozenset(range(5)), start=time(11, 30), end=time(12, 15))
# Monday 2026-11-30, 09:00 UTC = 11:00 in Helsinki (UTC+2 in winter).
MONDAY_9_UTC = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _room(kind: RoomKind = RoomKind.MEAL, capacity: int = 3) -> MealRoom:
    return MealRoom(
        id="r1",
        name="Lunch with the Kallio group",
        kind=kind,
        host_id="hannu",
        member_ids=("aino", "eino", "helmi", "toivo"),
        schedule=LUNCH,
        capacity=capacity,
    )


def _session(room: MealRoom | None = None) -> LiveSession:
    room = room or _room()
    return LiveSession.open(
        session_id="s1",
        room=room,
        host_name="Hannu",
        at=MONDAY_9_UTC,
        opened_by="hannu",
        occurrence=room.occurrence_at(MONDAY_9_UTC + timedelta(minutes=30)),
    )


def test_weekday_lunch_is_helsinki_wall_clock_time_in_winter_and_summer() -> None:
    winter = LUNCH.on_day(date(2026, 11, 30))
    summer = LUNCH.on_day(date(2026, 6, 1))
    assert winter is not None and summer is not None
    assert winter.starts_at == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert winter.ends_at == datetime(2026, 11, 30, 10, 15, tzinfo=UTC)
    assert summer.starts_at == datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert LUNCH.on_day(date(2026, 12, 5)) is None  # a Saturday


def test_current_or_next_skips_the_weekend() -> None:
    friday_after_lunch = datetime(2026, 12, 4, 11, 0, tzinfo=UTC)
    upcoming = LUNCH.current_or_next(friday_after_lunch)
    assert upcoming is not None and upcoming.local_date == date(2026, 12, 7)
    during = LUNCH.current_or_next(datetime(2026, 12, 4, 9, 45, tzinfo=UTC))
    assert during is not None and during.local_date == date(2026, 12, 4)


def test_schedule_validation_gives_reasons() -> None:
    with pytest.raises(InvalidInput, match="weekday"):
        RoomSchedule(frozenset(), time(11), time(12)).validate()
    with pytest.raises(InvalidInput, match="end after"):
        RoomSchedule(frozenset({0}), time(12), time(11)).validate()
    with pytest.raises(InvalidInput, match="time zone"):
        RoomSchedule(frozenset({0}), time(11), time(12), "Mars/Olympus").validate()
    with pytest.raises(InvalidInput, match="capacity"):
        _room(capacity=40).validate()
    assert LUNCH.describe() == "Mon-Fri 11:30-12:15 (Europe/Helsinki)"


def test_planner_finds_rooms_due_on_an_injected_clock() -> None:
    clock = FakeClock(MONDAY_9_UTC)
    planner = RoomPlanner(clock)
    room = _room()
    assert planner.due([room]) == []
    assert planner.next_start([room]) == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    clock.advance(timedelta(minutes=31))
    [(due_room, occurrence)] = planner.due([room])
    assert due_room is room and occurrence.local_date == date(2026, 11, 30)
    clock.advance(timedelta(hours=1))
    assert planner.due([room]) == []
    assert planner.next_start([room]) == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def test_capacity_lock_and_removal_rules() -> None:
    session = _session(_room(capacity=2))
    session.sit("hannu", "Hannu", SeatRole.HOST, MONDAY_9_UTC)
    session.sit("aino", "Aino K.", SeatRole.CLIENT, MONDAY_9_UTC)
    session.sit("eino", "Eino V.", SeatRole.CLIENT, MONDAY_9_UTC)
    with pytest.raises(Busy):
        session.sit("helmi", "Helmi M.", SeatRole.CLIENT, MONDAY_9_UTC)
    session.stand("eino", MONDAY_9_UTC, LeaveReason.LEFT)
    session.locked = True
    with pytest.raises(InvalidState, match="locked"):
        session.sit("helmi", "Helmi M.", SeatRole.CLIENT, MONDAY_9_UTC)
    # Someone who was already at the table may come back to a locked room.
    session.sit("eino", "Eino V.", SeatRole.CLIENT, MONDAY_9_UTC)
    session.stand("aino", MONDAY_9_UTC, LeaveReason.REMOVED)
    session.locked = False
    with pytest.raises(Forbidden):
        session.sit("aino", "Aino K.", SeatRole.CLIENT, MONDAY_9_UTC)


def test_spotlight_and_exercise_leader_decide_who_is_large_and_full_rate() -> None:
    meal = _session()
    meal.sit("hannu", "Hannu", SeatRole.HOST, MONDAY_9_UTC)
    meal.sit("aino", "Aino K.", SeatRole.CLIENT, MONDAY_9_UTC)
    assert meal.large() is None and meal.featured() == {"hannu"}
    meal.set_spotlight("aino")
    assert meal.large() == "aino" and meal.featured() == {"hannu", "aino"}
    meal.stand("aino", MONDAY_9_UTC, LeaveReason.LEFT)
    assert meal.spotlight is None

    gym = _session(_room(kind=RoomKind.EXERCISE))
    gym.sit("physio", "Pia", SeatRole.HOST, MONDAY_9_UTC)
    gym.sit("aino", "Aino K.", SeatRole.CLIENT, MONDAY_9_UTC)
    assert gym.large() == "physio" and gym.leader_id == "physio"


def test_side_call_takes_the_host_and_one_home_out_of_the_table() -> None:
    session = _session()
    for subject, role in (("hannu", SeatRole.HOST), ("aino", SeatRole.CLIENT)):
        session.sit(subject, subject, role, MONDAY_9_UTC)
    session.sit("eino", "eino", SeatRole.CLIENT, MONDAY_9_UTC)
    session.start_side_call("aino")
    assert session.groups() == {"hannu": SIDE_GROUP, "aino": SIDE_GROUP, "eino": MAIN_GROUP}
    assert session.is_away("aino") and not session.is_away("eino")
    session.end_side_call()
    assert set(session.groups().values()) == {MAIN_GROUP}
    with pytest.raises(InvalidState):
        session.start_side_call("hannu")


def test_mute_all_mutes_clients_only() -> None:
    session = _session()
    session.sit("hannu", "Hannu", SeatRole.HOST, MONDAY_9_UTC)
    session.sit("aino", "Aino K.", SeatRole.CLIENT, MONDAY_9_UTC)
    session.sit("eino", "Eino V.", SeatRole.CLIENT, MONDAY_9_UTC)
    assert session.set_muted("aino", True)
    assert session.set_all_muted(True) == ["eino"]
    assert not session.seats["hannu"].muted
    with pytest.raises(InvalidState):
        session.set_muted("hannu", True)


def test_attendance_lists_absent_members_and_adds_up_visits() -> None:
    session = _session()
    t0 = MONDAY_9_UTC
    visits = [
        Visit("s1", "aino", "client", t0, t0 + timedelta(minutes=10), LeaveReason.DROPPED),
        Visit("s1", "aino", "client", t0 + timedelta(minutes=12), t0 + timedelta(minutes=40)),
        Visit("s1", "eino", "client", t0, t0 + timedelta(minutes=5), LeaveReason.REMOVED),
        Visit("s1", "hannu", "host", t0, t0 + timedelta(minutes=45)),
    ]
    closed = session.end(t0 + timedelta(minutes=45), "hannu", SessionEndReason.ENDED_BY_HOST)
    assert closed == []
    rows = {row.client_id: row for row in attendance(session.record, _room().member_ids, visits)}
    assert set(rows) == {"aino", "eino", "helmi", "toivo"}
    assert (rows["aino"].attended, rows["aino"].visits, rows["aino"].minutes) == (True, 2, 38.0)
    assert rows["eino"].removed and not rows["helmi"].attended
    assert rows["helmi"].minutes == 0 and rows["helmi"].first_joined_at is None


def test_ending_closes_every_visit() -> None:
    session = _session()
    session.sit("hannu", "Hannu", SeatRole.HOST, MONDAY_9_UTC)
    session.sit("aino", "Aino K.", SeatRole.CLIENT, MONDAY_9_UTC)
    closed = session.end(MONDAY_9_UTC, "hannu", SessionEndReason.ENDED_BY_HOST)
    assert {v.subject_id for v in closed} == {"hannu", "aino"}
    assert all(v.left_reason is LeaveReason.ENDED for v in closed)
    assert session.ended and session.record.end_reason is SessionEndReason.ENDED_BY_HOST
    with pytest.raises(InvalidState):
        session.check_can_join("eino", SeatRole.CLIENT)


def test_quality_dot_from_what_the_media_server_measures() -> None:
    from care_sessions.room_sessions import Quality, rate_quality

    def dot(**kw: object) -> Quality:
        base: dict[str, object] = {
            "connected": True,
            "was_connected": True,
            "loss": 0.0,
            "video_bps": 150_000.0,
        }
        base.update(kw)
        return rate_quality(**base)  # type: ignore[arg-type]

    assert dot() is Quality.GOOD
    assert dot(loss=0.03) is Quality.FAIR
    assert dot(loss=0.1) is Quality.POOR
    assert dot(video_bps=5_000.0) is Quality.POOR
    assert dot(connected=False) is Quality.LOST
    assert dot(connected=False, was_connected=False) is Quality.CONNECTING
