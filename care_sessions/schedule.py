"""Expanding care plans into concrete check-ins per Helsinki day, across DST changes.

Plan times are wall-clock times in Europe/Helsinki: "18:00" means 18:00 on the client's
clock in winter (UTC+2) and in summer (UTC+3). Two days a year need a rule:

- Spring (last Sunday of March, 03:00 -> 04:00): a time inside the skipped hour (03:30)
  does not exist that day; it happens one hour later by the clock (04:30), as a person
  whose alarm was set for 03:30 would experience it.
- Autumn (last Sunday of October, 04:00 -> 03:00): a time inside the repeated hour happens
  once, at its first occurrence (summer time), never twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from care_sessions.care_plans import PlanItem
from care_sessions.checkins import Checkin, CheckinStatus
from care_sessions.clock import Clock

HELSINKI = ZoneInfo("Europe/Helsinki")
# Today and tomorrow: a nurse's day list and tomorrow morning's reminders exist before
# midnight, and a restart at any hour finds the rows it needs.
DAYS_AHEAD = 1


def local_day(moment: datetime) -> date:
    """The Helsinki calendar day of an aware instant."""
    return moment.astimezone(HELSINKI).date()


def at_local(day: date, wall: time) -> datetime:
    """The UTC instant of a Helsinki wall-clock time on a day (see the module's DST rules)."""
    # fold=0 gives the first of two repeated times, and for a skipped time zoneinfo applies
    # the offset from before the change, which lands one hour later by the new clock.
    local = datetime.combine(day, wall, tzinfo=HELSINKI).replace(fold=0)
    return local.astimezone(UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a Helsinki day in UTC: 23, 24 or 25 hours long."""
    return at_local(day, time(0)), at_local(day + timedelta(days=1), time(0))


def checkin_id(item_id: str, day: date, wall: time) -> str:
    """Deterministic, so expanding the same day twice (or on two servers) adds nothing."""
    return f"{item_id}:{day.isoformat()}:{wall.strftime('%H%M')}"


def expand_day(item: PlanItem, day: date) -> list[Checkin]:
    """The item's check-ins on one Helsinki day (none if it is not one of its weekdays)."""
    if not item.active or day.weekday() not in item.weekdays:
        return []
    window = timedelta(minutes=item.window_min)
    checkins = []
    for wall in item.times:
        scheduled_at = at_local(day, wall)
        checkins.append(
            Checkin(
                id=checkin_id(item.id, day, wall),
                client_id=item.client_id,
                plan_item_id=item.id,
                kind=item.kind,
                label=item.label,
                detail=item.detail,
                local_date=day,
                local_time=wall,
                scheduled_at=scheduled_at,
                window=window,
                completed_by=item.completed_by,
                remind=item.remind,
                status=CheckinStatus.SCHEDULED,
                next_action_at=scheduled_at - window,
            )
        )
    return checkins


def expand(
    items: Iterable[PlanItem], days: Iterable[date], *, not_before: datetime
) -> list[Checkin]:
    """Check-ins of the items on the days, leaving out any whose window closed already.

    A plan item added at 19:00 must not produce an 18:00 check-in that is missed at birth.
    """
    wanted: list[Checkin] = []
    for day in days:
        for item in items:
            wanted.extend(c for c in expand_day(item, day) if c.closes_at > not_before)
    return sorted(wanted, key=lambda c: (c.scheduled_at, c.id))


@dataclass(frozen=True)
class ExpansionWindow:
    """Which days the scheduler keeps expanded, and when it must look again."""

    days: tuple[date, ...]
    next_expansion_at: datetime


def expansion_window(now: datetime, days_ahead: int = DAYS_AHEAD) -> ExpansionWindow:
    today = local_day(now)
    days = tuple(today + timedelta(days=offset) for offset in range(days_ahead + 1))
    _, end_of_today = day_bounds(today)
    return ExpansionWindow(days, end_of_today)


class Scheduler:
    """Expands plans on an injected clock; the signaling service stores what it returns."""

    def __init__(self, clock: Clock, days_ahead: int = DAYS_AHEAD) -> None:
        self._clock = clock
        self._days_ahead = days_ahead

    def window(self) -> ExpansionWindow:
        return expansion_window(self._clock.now(), self._days_ahead)

    def checkins_for(self, items: Iterable[PlanItem]) -> list[Checkin]:
        return expand(items, self.window().days, not_before=self._clock.now())
