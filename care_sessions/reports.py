"""What the service reports: the questions (period, team, client), the figures, the columns.

The figures are SQL aggregates computed by the store (store/report_queries.py); this
module defines what is asked and what each figure means, so that the page, the CSV/JSON
export and the tests share one definition:

- virtual visit: a call or help call that the client answered; minutes from answer to end.
- check-ins due: scheduled in the period and reached their window (not still scheduled,
  not cancelled); done: an outcome was recorded; missed: the window passed unconfirmed
  (also if someone recorded an outcome later); escalated: a nurse task was created.
- adherence %: positive outcomes (taken / measured / done) per check-in due.
- meal-room attendance: clients' places at shared meals opened in the period, one per client
  per meal however often they rejoined.
- call quality: calls placed, the share of answered calls whose video connected, video
  failures and the median time from answer to video.
- driving avoided: each virtual visit replaces one home visit of the client's km (or the
  default), and CO2 is that distance times the emission factor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from care_sessions.errors import InvalidInput
from care_sessions.schedule import at_local, day_bounds

# The seed's report: 380 t of CO2 over 1.75 million km of avoided driving.
SEED_EMISSION_G_PER_KM = 380e6 / 1.75e6
MAX_PERIOD_DAYS = 366 * 3
# Attendance counts the shared-meal rooms (care_sessions.meal_rooms.RoomKind.MEAL); the
# exercise rooms are not meals.
MEAL_ROOM_KIND = "meal"
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
Row = TypeVar("Row")


def _num(digits: int) -> Callable[[Figure], str]:
    def fmt(value: Figure) -> str:
        if value is None:
            return "n/a"
        if isinstance(value, str):
            return value
        return f"{value:,.{digits}f}".replace(",", "\u202f")

    return fmt


WHOLE = _num(0)
ONE_DECIMAL = _num(1)


def _text(value: Figure) -> str:
    return "" if value is None else str(value)


def N_(message: str) -> str:
    """A message id: pages and exports give it in their reader's language (web/i18n.py)."""
    return message


@dataclass(frozen=True)
class Column(Generic[Row]):
    """One figure of a report row: its key (CSV/JSON), title (a message id), value and format."""

    key: str
    title: str
    value: Callable[[Row], Figure]
    text: Callable[[Figure], str] = WHOLE
    unit: str = ""
    group: str = ""


T = ReportTotals
TOTAL_COLUMNS: tuple[Column[ReportTotals], ...] = (
    Column[T](
        "virtual_visits", N_("Virtual visits"), lambda t: t.virtual_visits, group=N_("Visits")
    ),
    Column[T](
        "visit_minutes",
        N_("Visit minutes"),
        lambda t: t.visit_minutes,
        unit="min",
        group=N_("Visits"),
    ),
    Column[T]("checkins_due", N_("Check-ins due"), lambda t: t.checkins_due, group=N_("Check-ins")),
    Column[T]("checkins_done", N_("Done"), lambda t: t.checkins_done, group=N_("Check-ins")),
    Column[T]("checkins_missed", N_("Missed"), lambda t: t.checkins_missed, group=N_("Check-ins")),
    Column[T](
        "checkins_escalated", N_("Escalated"), lambda t: t.checkins_escalated, group=N_("Check-ins")
    ),
    Column[T](
        "adherence_pct",
        N_("Adherence"),
        lambda t: t.adherence_pct,
        ONE_DECIMAL,
        "%",
        N_("Check-ins"),
    ),
    Column[T]("escalations", N_("Follow-up tasks"), lambda t: t.escalations, group=N_("Check-ins")),
    Column[T](
        "escalation_median_min",
        N_("Median task to resolution"),
        lambda t: t.escalation_median_min,
        ONE_DECIMAL,
        "min",
        N_("Check-ins"),
    ),
    Column[T]("help_calls", N_("Help calls"), lambda t: t.help_calls, group=N_("Help calls")),
    Column[T](
        "help_answer_median_s",
        N_("Median answer time"),
        lambda t: t.help_answer_median_s,
        WHOLE,
        "s",
        N_("Help calls"),
    ),
    Column[T](
        "meal_room_attendance",
        N_("Meal-room attendance"),
        lambda t: t.meal_room_attendance,
        group=N_("Meal rooms"),
    ),
    Column[T](
        "calls_placed", N_("Calls placed"), lambda t: t.calls_placed, group=N_("Call quality")
    ),
    Column[T](
        "media_connected_pct",
        N_("Answered calls with video"),
        lambda t: t.media_connected_pct,
        ONE_DECIMAL,
        "%",
        N_("Call quality"),
    ),
    Column[T](
        "media_failed", N_("Video failures"), lambda t: t.media_failed, group=N_("Call quality")
    ),
    Column[T](
        "media_setup_median_s",
        N_("Median video set-up"),
        lambda t: t.media_setup_median_s,
        ONE_DECIMAL,
        "s",
        N_("Call quality"),
    ),
    Column[T](
        "km_avoided", N_("Driving avoided"), lambda t: t.km_avoided, WHOLE, "km", N_("Driving")
    ),
    Column[T]("co2_kg", N_("CO2 avoided"), lambda t: t.co2_kg, ONE_DECIMAL, "kg", N_("Driving")),
)

C = ClientRow
CLIENT_COLUMNS: tuple[Column[ClientRow], ...] = (
    Column[C]("client_id", N_("Client id"), lambda r: r.client_id, _text),
    Column[C]("name", N_("Client"), lambda r: r.name, _text),
    Column[C]("team", N_("Team"), lambda r: r.team, _text),
    Column[C]("virtual_visits", N_("Virtual visits"), lambda r: r.virtual_visits),
    Column[C]("visit_minutes", N_("Visit minutes"), lambda r: r.visit_minutes, unit="min"),
    Column[C]("checkins_due", N_("Check-ins due"), lambda r: r.checkins_due),
    Column[C]("checkins_done", N_("Done"), lambda r: r.checkins_done),
    Column[C]("checkins_missed", N_("Missed"), lambda r: r.checkins_missed),
    Column[C]("checkins_escalated", N_("Escalated"), lambda r: r.checkins_escalated),
    Column[C]("adherence_pct", N_("Adherence"), lambda r: r.adherence_pct, ONE_DECIMAL, "%"),
    Column[C]("km_avoided", N_("Driving avoided"), lambda r: r.km_avoided, WHOLE, "km"),
    Column[C]("co2_kg", N_("CO2 avoided"), lambda r: r.co2_kg, ONE_DECIMAL, "kg"),
)

W = WeekRow
WEEK_COLUMNS: tuple[Column[WeekRow], ...] = (
    Column[W]("week_start", N_("Week from"), lambda r: r.week_start.isoformat(), _text),
    Column[W]("virtual_visits", N_("Virtual visits"), lambda r: r.virtual_visits),
    Column[W]("visit_minutes", N_("Visit minutes"), lambda r: r.visit_minutes, unit="min"),
    Column[W]("checkins_due", N_("Check-ins due"), lambda r: r.checkins_due),
    Column[W]("checkins_done", N_("Done"), lambda r: r.checkins_done),
    Column[W]("checkins_missed", N_("Missed"), lambda r: r.checkins_missed),
    Column[W]("checkins_escalated", N_("Escalated"), lambda r: r.checkins_escalated),
    Column[W]("adherence_pct", N_("Adherence"), lambda r: r.adherence_pct, ONE_DECIMAL, "%"),
)


def as_dict(columns: Sequence[Column[Row]], row: Row) -> dict[str, Figure]:
    return {column.key: column.value(row) for column in columns}


HeaderFn = Callable[["Column[Any]"], str]


def _key(column: Column[Any]) -> str:
    return column.key


def csv_table(report: Report, by: str, header: HeaderFn = _key) -> list[list[str]]:
    """The report as CSV cells: one row per client or week, or the totals; numbers raw.

    The header row is the columns' keys unless `header` names them (in a reader's language).
    """
    if by == "client":
        return _cells(CLIENT_COLUMNS, report.clients, header)
    if by == "week":
        return _cells(WEEK_COLUMNS, report.weeks, header)
    if by == "total":
        return _cells(TOTAL_COLUMNS, [report.totals], header)
    raise InvalidInput("a CSV report is by client, week or total")


def _cells(
    columns: Sequence[Column[Row]], rows: Sequence[Row], header: HeaderFn
) -> list[list[str]]:
    names = [header(column) for column in columns]
    return [names, *([_csv(column.value(row)) for column in columns] for row in rows)]


def _csv(value: Figure) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(round(value, 3))
    return str(value)


def report_as_dict(report: Report) -> dict[str, object]:
    """The JSON shape of a report (the API, `hoiva report --format json`)."""
    request = report.request
    return {
        "period": {"start": request.start.isoformat(), "end": request.end.isoformat()},
        "team": request.team,
        "client_id": request.client_id,
        "km_per_visit": request.km_per_visit,
        "emission_g_per_km": request.emission_g_per_km,
        "totals": as_dict(TOTAL_COLUMNS, report.totals),
        "weeks": [as_dict(WEEK_COLUMNS, row) for row in report.weeks],
        "clients": [as_dict(CLIENT_COLUMNS, row) for row in report.clients],
    }
