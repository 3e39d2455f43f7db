"""What the service reports: the questions (period, team, client), the figures, the columns.

The figures are SQL aggregates computed by the store (hoiva/store/report_queries.py); this
module defines what is asked and what each figure means, so that the page, the CSV/JSON
export and the tests share one definition:

- virtual visit: a call or help call that the client answered; minutes from answer to end.
- check-ins due: scheduled in the period and reached their window (not still scheduled,
  not cancelled); done: an outcome was recorded; missed: the window passed unconfirmed
  (also if someone recorded an outcome later); escalated: a nurse task was created.
- adherence %: positive outcomes (taken / measured / done) per check-in due.
- driving avoided: each virtual visit replaces one home visit of the client's km (or the
  default), and CO2 is that distance times the emission factor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

from care_sessions.errors import InvalidInput
from care_sessions.schedule import at_local, day_bounds

# The seed's report: 380 t of CO2 over 1.75 million km of avoided driving.
SEED_EMISSION_G_PER_KM = 380e6 / 1.75e6
MAX_PERIOD_DAYS = 366 * 3
# Room kinds that the shared-meal rooms record in care_session.kind (another issue adds
# them); until then the attendance column reads 0.
MEAL_ROOM_KINDS = ("meal_room",)
VIRTUAL_VISIT_KINDS = ("call", "help_call")


@dataclass(frozen=True)
class Week:
    start: date  # the Monday, or the period's first day for a partial first week
    lo: datetime
    hi: datetime


@dataclass(frozen=True)
class ReportRequest:
    """A report for Helsinki days start..end (both included), optionally one team or client."""

    start: date
    end: date
    team: str | None = None
    client_id: str | None = None
    km_per_visit: float = 12.0
    emission_g_per_km: float = 217.0

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidInput("the period ends before it starts")
        if (self.end - self.start).days >= MAX_PERIOD_DAYS:
            raise InvalidInput("a report covers at most three years")
        if self.km_per_visit < 0 or self.emission_g_per_km < 0:
            raise InvalidInput("distances and emission factors cannot be negative")

    @property
    def lo(self) -> datetime:
        return day_bounds(self.start)[0]

    @property
    def hi(self) -> datetime:
        return day_bounds(self.end)[1]

    def weeks(self) -> list[Week]:
        """ISO weeks (Monday to Sunday, Helsinki midnights) cut to the period."""
        weeks = []
        day = self.start
        while day <= self.end:
            next_monday = day + timedelta(days=7 - day.weekday())
            last = min(next_monday, self.end + timedelta(days=1))
            weeks.append(Week(day, at_local(day, _MIDNIGHT), at_local(last, _MIDNIGHT)))
            day = next_monday
        return weeks


_MIDNIGHT = datetime.min.time()


def month_request(year: int, month: int, **kwargs: object) -> ReportRequest:
    """The report for one calendar month."""
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return ReportRequest(first, following - timedelta(days=1), **kwargs)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReportTotals:
    virtual_visits: int = 0
    visit_minutes: float = 0.0
    checkins_due: int = 0
    checkins_done: int = 0
    checkins_missed: int = 0
    checkins_escalated: int = 0
    adherence_pct: float | None = None
    escalations: int = 0
    escalation_median_min: float | None = None
    help_calls: int = 0
    help_answer_median_s: float | None = None
    meal_room_attendance: int = 0
    calls_placed: int = 0
    media_connected_pct: float | None = None
    media_failed: int = 0
    media_setup_median_s: float | None = None
    km_avoided: float = 0.0
    co2_kg: float = 0.0


@dataclass(frozen=True)
class ClientRow:
    client_id: str
    name: str
    team: str
    virtual_visits: int = 0
    visit_minutes: float = 0.0
    checkins_due: int = 0
    checkins_done: int = 0
    checkins_missed: int = 0
    checkins_escalated: int = 0
    adherence_pct: float | None = None
    km_avoided: float = 0.0
    co2_kg: float = 0.0


@dataclass(frozen=True)
class WeekRow:
    week_start: date
    virtual_visits: int = 0
    visit_minutes: float = 0.0
    checkins_due: int = 0
    checkins_done: int = 0
    checkins_missed: int = 0
    checkins_escalated: int = 0
    adherence_pct: float | None = None


@dataclass(frozen=True)
class Report:
    request: ReportRequest
    totals: ReportTotals
    clients: list[ClientRow] = field(default_factory=list)
    weeks: list[WeekRow] = field(default_factory=list)


class ReportSource(Protocol):
    """The SQL side: every method is a handful of aggregate queries."""

    async def report_totals(self, request: ReportRequest) -> ReportTotals: ...

    async def report_by_client(self, request: ReportRequest) -> list[ClientRow]: ...

    async def report_by_week(self, request: ReportRequest) -> list[WeekRow]: ...

    async def teams(self) -> list[str]: ...


async def build_report(source: ReportSource, request: ReportRequest) -> Report:
    totals = await source.report_totals(request)
    clients = await source.report_by_client(request)
    weeks = await source.report_by_week(request)
    return Report(request, totals, clients, weeks)


# ---- columns: one table for the page, the CSV and the JSON --------------------------------

Figure = int | float | str | None


def _num(digits: int) -> Callable[[Figure], str]:
    def fmt(value: Figure) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, str):
            return value
        return f"{value:,.{digits}f}".replace(",", " ")

    return fmt


WHOLE = _num(0)


@dataclass(frozen=True)
class ReportColumn:
    key: str
    title: str
    unit: str
    value: Callable[[ReportTotals], Figure]
    text: Callable[[Figure], str] = WHOLE
    group: str = ""


TOTAL_COLUMNS: tuple[ReportColumn, ...] = (
    ReportColumn(
        "virtual_visits", "Virtual visits", "", lambda t: t.virtual_visits, group="visits"
    ),
    ReportColumn(
        "visit_minutes", "Visit minutes", "min", lambda t: t.visit_minutes, group="visits"
    ),
    ReportColumn("checkins_due", "Check-ins due", "", lambda t: t.checkins_due, group="checkins"),
    ReportColumn("checkins_done", "Done", "", lambda t: t.checkins_done, group="checkins"),
    ReportColumn("checkins_missed", "Missed", "", lambda t: t.checkins_missed, group="checkins"),
    ReportColumn(
        "checkins_escalated", "Escalated", "", lambda t: t.checkins_escalated, group="checkins"
    ),
    ReportColumn(
        "adherence_pct", "Adherence", "%", lambda t: t.adherence_pct, _num(1), group="checkins"
    ),
    ReportColumn(
        "escalation_median_min",
        "Median escalation to resolution",
        "min",
        lambda t: t.escalation_median_min,
        _num(1),
        group="checkins",
    ),
    ReportColumn("help_calls", "Help calls", "", lambda t: t.help_calls, group="help"),
    ReportColumn(
        "help_answer_median_s",
        "Median help answer time",
        "s",
        lambda t: t.help_answer_median_s,
        _num(0),
        group="help",
    ),
    ReportColumn(
        "meal_room_attendance",
        "Meal-room attendance",
        "",
        lambda t: t.meal_room_attendance,
        group="meal",
    ),
    ReportColumn("calls_placed", "Calls placed", "", lambda t: t.calls_placed, group="quality"),
    ReportColumn(
        "media_connected_pct",
        "Answered calls with video",
        "%",
        lambda t: t.media_connected_pct,
        _num(1),
        group="quality",
    ),
    ReportColumn("media_failed", "Video failures", "", lambda t: t.media_failed, group="quality"),
    ReportColumn(
        "media_setup_median_s",
        "Median video set-up",
        "s",
        lambda t: t.media_setup_median_s,
        _num(1),
        group="quality",
    ),
    ReportColumn("km_avoided", "Driving avoided", "km", lambda t: t.km_avoided, group="driving"),
    ReportColumn("co2_kg", "CO2 avoided", "kg", lambda t: t.co2_kg, _num(1), group="driving"),
)


@dataclass(frozen=True)
class RowColumn:
    key: str
    title: str
    value: Callable[[ClientRow], Figure]
    text: Callable[[Figure], str] = WHOLE


CLIENT_COLUMNS: tuple[RowColumn, ...] = (
    RowColumn("client_id", "Client id", lambda r: r.client_id, str),
    RowColumn("name", "Client", lambda r: r.name, str),
    RowColumn("team", "Team", lambda r: r.team, str),
    RowColumn("virtual_visits", "Virtual visits", lambda r: r.virtual_visits),
    RowColumn("visit_minutes", "Visit minutes", lambda r: r.visit_minutes),
    RowColumn("checkins_due", "Check-ins due", lambda r: r.checkins_due),
    RowColumn("checkins_done", "Done", lambda r: r.checkins_done),
    RowColumn("checkins_missed", "Missed", lambda r: r.checkins_missed),
    RowColumn("checkins_escalated", "Escalated", lambda r: r.checkins_escalated),
    RowColumn("adherence_pct", "Adherence %", lambda r: r.adherence_pct, _num(1)),
    RowColumn("km_avoided", "Driving avoided km", lambda r: r.km_avoided),
    RowColumn("co2_kg", "CO2 avoided kg", lambda r: r.co2_kg, _num(1)),
)


def totals_as_dict(totals: ReportTotals) -> dict[str, Figure]:
    return {column.key: column.value(totals) for column in TOTAL_COLUMNS}


def client_as_dict(row: ClientRow) -> dict[str, Figure]:
    return {column.key: column.value(row) for column in CLIENT_COLUMNS}


def report_as_dict(report: Report) -> dict[str, object]:
    """The JSON shape of a report (the API, `hoiva report --format json`)."""
    request = report.request
    return {
        "period": {"start": request.start.isoformat(), "end": request.end.isoformat()},
        "team": request.team,
        "client_id": request.client_id,
        "km_per_visit": request.km_per_visit,
        "emission_g_per_km": request.emission_g_per_km,
        "totals": totals_as_dict(report.totals),
        "weeks": [
            {
                "week_start": row.week_start.isoformat(),
                "virtual_visits": row.virtual_visits,
                "visit_minutes": row.visit_minutes,
                "checkins_due": row.checkins_due,
                "checkins_done": row.checkins_done,
                "checkins_missed": row.checkins_missed,
                "checkins_escalated": row.checkins_escalated,
                "adherence_pct": row.adherence_pct,
            }
            for row in report.weeks
        ],
        "clients": [client_as_dict(row) for row in report.clients],
    }
