"""Shared-meal and group-exercise rooms: who belongs, when they meet, and who came.

A room is a standing group ("Lunch with the Kallio group"): a host, member clients, a
recurring schedule in local wall-clock time and a capacity. Each time it meets is a
*session* (room_sessions.py holds the live one); attendance is recorded per visit and
summarised per member for the reports.

Schedule times are wall-clock times in the room's zone, with the same DST rules as the care
plans (schedule.py): a start inside the skipped spring hour happens one hour later by the
clock, and a time inside the repeated autumn hour happens once, at its first occurrence.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from care_sessions.clock import Clock
from care_sessions.errors import InvalidInput

DEFAULT_CAPACITY = 12  # clients; the host comes on top
# A tablet grid of 16 tiles and the forwarding budget (docs/media.md) are sized for this.
MAX_CAPACITY = 16
NAME_MAX = 60
MAX_MEMBERS = 100
DEFAULT_TIMEZONE = "Europe/Helsinki"
# A room opened outside its schedule (or one without a schedule) runs for this long before
# an empty room is closed by itself.
UNSCHEDULED_LENGTH = timedelta(minutes=45)
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
WEEKDAYS = frozenset(range(5))


class RoomKind(enum.StrEnum):
    MEAL = "meal"  # everyone equal, the host keeps the table going
    EXERCISE = "exercise"  # a physiotherapist leads; the leader's video is large everywhere


@dataclass(frozen=True)
class Occurrence:
    """One meeting of a room: [starts_at, ends_at) in UTC and its local calendar day."""

    starts_at: datetime
    ends_at: datetime
    local_date: date

    def contains(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


def at_local(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a day (see the module's DST rules)."""
    # fold=0 picks the first of two repeated times; for a skipped time zoneinfo applies the
    # offset from before the change, which lands one hour later by the new clock.
    return datetime.combine(day, wall, tzinfo=zone).replace(fold=0).astimezone(UTC)


@dataclass(frozen=True)
class RoomSchedule:
    """Weekdays (0 = Monday) and a start-end wall-clock window in a time zone."""

    weekdays: frozenset[int]
    start: time
    end: time
    timezone: str = DEFAULT_TIMEZONE

    def validate(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise InvalidInput("choose at least one weekday")
        # A meal that runs past midnight is not a thing; refusing it keeps a day one window.
        if not self.start < self.end:
            raise InvalidInput("the room must end after it starts, on the same day")
        self.zone()

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInput(f"unknown time zone {self.timezone!r}") from exc

    def on_day(self, day: date) -> Occurrence | None:
        if day.weekday() not in self.weekdays:
            return None
        zone = self.zone()
        starts_at = at_local(day, self.start, zone)
        ends_at = at_local(day, self.end, zone)
        if ends_at <= starts_at:
            # Only on a DST day, when the end falls in the skipped hour: keep a real window.
            ends_at = starts_at + timedelta(minutes=1)
        return Occurrence(starts_at, ends_at, day)

    def occurrences(self, lo: datetime, hi: datetime) -> list[Occurrence]:
        """Meetings that overlap [lo, hi), in order."""
        zone = self.zone()
        day = lo.astimezone(zone).date() - timedelta(days=1)
        last = hi.astimezone(zone).date()
        found = []
        while day <= last:
            occurrence = self.on_day(day)
            if occurrence is not None and occurrence.ends_at > lo and occurrence.starts_at < hi:
                found.append(occurrence)
            day += timedelta(days=1)
        return found

    def current_or_next(self, now: datetime) -> Occurrence | None:
        """The meeting under way at `now`, else the next one (within two weeks)."""
        upcoming = self.occurrences(now, now + timedelta(days=15))
        return upcoming[0] if upcoming else None

    def describe(self) -> str:
        """ "Mon-Fri 11:30-12:15 (Europe/Helsinki)" for staff pages."""
        days = sorted(self.weekdays)
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            day_text = f"{WEEKDAY_NAMES[days[0]]}-{WEEKDAY_NAMES[days[-1]]}"
        else:
            day_text = ", ".join(WEEKDAY_NAMES[d] for d in days)
        window = f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')}"
        return f"{day_text} {window} ({self.timezone})"


@dataclass(frozen=True)
class MealRoom:
    """A standing group: the host runs it, members join it, the schedule says when."""

    id: str
    name: str
    kind: RoomKind
    host_id: str
    member_ids: tuple[str, ...]
    schedule: RoomSchedule | None
    capacity: int = DEFAULT_CAPACITY
    active: bool = True

    def validate(self) -> None:
        if not self.name.strip() or len(self.name) > NAME_MAX:
            raise InvalidInput(f"the room needs a name of at most {NAME_MAX} characters")
        if not 1 <= self.capacity <= MAX_CAPACITY:
            raise InvalidInput(f"capacity must be from 1 to {MAX_CAPACITY} clients")
        if len(set(self.member_ids)) != len(self.member_ids):
            raise InvalidInput("a client is listed twice")
        if len(self.member_ids) > MAX_MEMBERS:
            raise InvalidInput(f"a room can have at most {MAX_MEMBERS} members")
        if self.schedule is not None:
            self.schedule.validate()

    def is_member(self, client_id: str) -> bool:
        return client_id in self.member_ids

    def occurrence_at(self, now: datetime) -> Occurrence | None:
        """The scheduled meeting under way at `now`, if any."""
        if self.schedule is None:
            return None
        occurrence = self.schedule.current_or_next(now)
        return occurrence if occurrence is not None and occurrence.contains(now) else None


class RoomPlanner:
    """Answers "which rooms start when" on an injected clock; RoomService acts on it."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def due(self, rooms: Iterable[MealRoom]) -> list[tuple[MealRoom, Occurrence]]:
        """Active rooms whose scheduled meeting is under way now."""
        now = self._clock.now()
        return [
            (room, occurrence)
            for room in rooms
            if room.active and (occurrence := room.occurrence_at(now)) is not None
        ]

    def next_start(self, rooms: Iterable[MealRoom]) -> datetime | None:
        """The earliest scheduled start after now (to sleep until)."""
        now = self._clock.now()
        starts = [
            occurrence.starts_at
            for room in rooms
            if room.active and room.schedule is not None
            for occurrence in room.schedule.occurrences(now, now + timedelta(days=8))
            if occurrence.starts_at > now
        ]
        return min(starts, default=None)


# ---- attendance ---------------------------------------------------------------------------


class LeaveReason(enum.StrEnum):
    LEFT = "left"  # pressed Leave
    REMOVED = "removed"  # the host removed them
    DROPPED = "dropped"  # connection lost and not back in time
    ENDED = "ended"  # the host ended the meal, or it ended by itself


class SessionEndReason(enum.StrEnum):
    ENDED_BY_HOST = "ended_by_host"
    EMPTY = "empty"  # past its end time with nobody left in it
    INTERRUPTED = "interrupted"  # the server stopped


@dataclass(frozen=True)
class RoomSessionRecord:
    """One meeting of a room as it is stored: opened (by whom, or by the schedule), ended."""

    id: str
    room_id: str
    opened_at: datetime
    opened_by: str | None  # None: opened by the schedule
    scheduled_start: datetime | None
    ended_at: datetime | None = None
    ended_by: str | None = None
    end_reason: SessionEndReason | None = None


@dataclass(frozen=True)
class Visit:
    """One continuous stay of one person in a session; someone who drops and rejoins has two."""

    session_id: str
    subject_id: str
    role: str  # "host" | "client"
    joined_at: datetime
    left_at: datetime | None = None
    left_reason: LeaveReason | None = None

    def seconds(self, until: datetime) -> float:
        end = self.left_at or until
        return max(0.0, (end - self.joined_at).total_seconds())


@dataclass(frozen=True)
class AttendanceRow:
    """One member's attendance of one session, for the reports."""

    session_id: str
    client_id: str
    attended: bool
    first_joined_at: datetime | None
    minutes: float
    visits: int
    removed: bool


def attendance(
    session: RoomSessionRecord, member_ids: Sequence[str], visits: Iterable[Visit]
) -> list[AttendanceRow]:
    """Every member's row for a session, absent members included (that is the point)."""
    until = session.ended_at or max(
        (v.left_at or v.joined_at for v in visits), default=session.opened_at
    )
    by_client: dict[str, list[Visit]] = {}
    for visit in visits:
        if visit.session_id == session.id and visit.role == "client":
            by_client.setdefault(visit.subject_id, []).append(visit)
    # Members who have left the group since still appear if they came.
    people = list(member_ids) + sorted(set(by_client) - set(member_ids))
    rows = []
    for client_id in people:
        stays = sorted(by_client.get(client_id, []), key=lambda v: v.joined_at)
        rows.append(
            AttendanceRow(
                session_id=session.id,
                client_id=client_id,
                attended=bool(stays),
                first_joined_at=stays[0].joined_at if stays else None,
                minutes=round(sum(v.seconds(until) for v in stays) / 60.0, 1),
                visits=len(stays),
                removed=any(v.left_reason is LeaveReason.REMOVED for v in stays),
            )
        )
    return rows


class RoomStore(Protocol):
    """What rooms need from storage; store.room_store implements it in SQL."""

    async def add_room(self, room: MealRoom) -> None: ...

    async def update_room(self, room: MealRoom) -> None: ...

    async def room(self, room_id: str) -> MealRoom | None: ...

    async def list_rooms(self, host_id: str | None = None) -> list[MealRoom]:
        """Active rooms, of one host or all."""
        ...

    async def session_opened(self, record: RoomSessionRecord) -> None: ...

    async def session_closed(self, record: RoomSessionRecord) -> None: ...

    async def room_sessions(self, room_id: str, limit: int = 20) -> list[RoomSessionRecord]:
        """The newest sessions first."""
        ...

    async def visit_started(self, visit: Visit) -> None: ...

    async def visit_ended(self, visit: Visit) -> None: ...

    async def visits(self, session_ids: Sequence[str]) -> list[Visit]: ...

    async def close_open_sessions(self, at: datetime) -> int:
        """Mark sessions and visits a crash left open as interrupted; returns how many."""
        ...
