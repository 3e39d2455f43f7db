"""Reports: the page with its charts, a printable view, CSV/JSON downloads and the JSON feed.

The figures are SQL aggregates (store/report_queries.py); this module only reads the
question from the query string and lays the answer out.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.errors import InvalidInput
from care_sessions.reports import (
    CLIENT_COLUMNS,
    ONE_DECIMAL,
    TOTAL_COLUMNS,
    WEEK_COLUMNS,
    Column,
    Figure,
    Report,
    ReportRequest,
    WeekRow,
    build_report,
    csv_table,
    report_as_dict,
)
from care_sessions.schedule import local_day
from web import state
from web.i18n import Language
from web.responses import render
from web.routes_checkins import checkin_service, log_access

_CLIENT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TEAM_MAX = 60
EXPORT_FORMATS = ("csv", "json")
CSV_BY = ("client", "week", "total")
# A CSV's first row: column titles in the reader's language, or the stable keys for scripts.
CSV_HEADERS = ("titles", "keys")


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/reports", reports_page, name="reports")
    router.add_get("/reports/print", reports_print, name="reports.print")
    router.add_get("/reports/export", reports_export, name="reports.export")
    router.add_get("/api/reports", api_reports, name="api.reports")


def report_request(request: web.Request) -> ReportRequest:
    """The report asked for in the query string; the current month by default."""
    query = request.query
    today = local_day(state.services(request).clock.now())
    first = today.replace(day=1)
    start = _date(query.get("start", ""), "start", first)
    end = _date(query.get("end", ""), "end", _month_end(start if "start" in query else first))
    team = query.get("team", "").strip()
    if len(team) > TEAM_MAX:
        raise InvalidInput(f"a team name is at most {TEAM_MAX} characters")
    client_id = query.get("client", "").strip()
    if client_id and not _CLIENT_ID.match(client_id):
        raise InvalidInput("that is not a client id")
    care = state.services(request).settings
    return ReportRequest(
        start=start,
        end=end,
        team=team or None,
        client_id=client_id or None,
        km_per_visit=care.km_per_visit,
        emission_g_per_km=care.emission_g_per_km,
    )


def _date(text: str, name: str, default: date) -> date:
    if not text:
        return default
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise InvalidInput(f"{name} must be a date such as 2026-11-01") from None


def _month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


async def _report(request: web.Request, action: AccessAction = AccessAction.READ) -> Report:
    report = await build_report(checkin_service(request).store, report_request(request))
    # Per-client rows are personal data: whoever sees them is in each client's access log.
    clients = [row.client_id for row in report.clients]
    await log_access(request, clients, action, DataKind.REPORT, Purpose.REPORTING)
    return report


def figure_text(column: Column[Any], value: Figure, language: Language) -> str:
    """A figure as the page writes it: the locale's digits, a date, or "n/a"."""
    if value is None:
        return language.gettext("n/a")
    if isinstance(value, str):
        return language.format.iso_date(value) if column.key == "week_start" else value
    return language.format.number(value, 1 if column.text is ONE_DECIMAL else 0)


def column_title(column: Column[Any], language: Language) -> str:
    """A column's title in the reader's language, with its unit ("Adherence (%)")."""
    title = language.gettext(column.title)
    return f"{title} ({column.unit})" if column.unit else title


def _week_in_progress(week: WeekRow, report: Report, today: date) -> bool:
    """The week has not ended yet: its check-ins may still be confirmed."""
    week_end = min(
        week.week_start + timedelta(days=6 - week.week_start.weekday()), report.request.end
    )
    return week.week_start <= today <= week_end


async def _context(request: web.Request, report: Report) -> dict[str, Any]:
    clients = await state.services(request).store.list_clients()
    teams = await checkin_service(request).store.teams()
    language = state.language(request)
    totals = report.totals
    groups: dict[str, list[dict[str, str]]] = {}
    for column in TOTAL_COLUMNS:
        value = column.value(totals)
        groups.setdefault(language.gettext(column.group), []).append(
            {
                "key": column.key,
                "title": language.gettext(column.title),
                "text": figure_text(column, value, language),
                "unit": column.unit if value is not None else "",
            }
        )
    request_ = report.request
    today = local_day(state.services(request).clock.now())
    open_weeks = {w.week_start for w in report.weeks if _week_in_progress(w, report, today)}
    figures = report_as_dict(report)
    # An open week's adherence is not a result yet (its open check-ins count as not done):
    # the chart leaves its point out and the table says "in progress".
    for week in figures["weeks"]:  # type: ignore[attr-defined]
        week["in_progress"] = date.fromisoformat(week["week_start"]) in open_weeks
        if week["in_progress"]:
            week["adherence_pct"] = None
    in_progress = language.gettext("in progress")
    week_rows = [
        [
            in_progress
            if column.key == "adherence_pct" and row.week_start in open_weeks
            else figure_text(column, column.value(row), language)
            for column in WEEK_COLUMNS
        ]
        for row in report.weeks
    ]
    return {
        "page": "reports",
        "report": report,
        # The charts' figures, read by reports.js from the page itself (one access-log entry).
        "report_json": figures,
        "groups": groups,
        "client_titles": [column_title(column, language) for column in CLIENT_COLUMNS[1:]],
        "client_rows": [
            [figure_text(column, column.value(row), language) for column in CLIENT_COLUMNS[1:]]
            for row in report.clients
        ],
        "week_titles": [column_title(column, language) for column in WEEK_COLUMNS],
        "week_rows": week_rows,
        "open_week": bool(open_weeks),
        "clients": sorted(clients, key=lambda c: (c.first_name, c.last_name)),
        "teams": teams,
        "query": request.query_string,
        "start": request_.start.isoformat(),
        "end": request_.end.isoformat(),
        "team": request_.team or "",
        "client_id": request_.client_id or "",
        "km_per_visit": language.format.number(request_.km_per_visit, 0),
        "emission_g_per_km": language.format.number(request_.emission_g_per_km, 0),
    }


async def reports_page(request: web.Request) -> web.StreamResponse:
    report = await _report(request)
    return render(request, "reports.html", await _context(request, report))


async def reports_print(request: web.Request) -> web.StreamResponse:
    report = await _report(request)
    return render(request, "reports_print.html", await _context(request, report))


async def api_reports(request: web.Request) -> web.StreamResponse:
    return web.json_response(report_as_dict(await _report(request)))


async def reports_export(request: web.Request) -> web.StreamResponse:
    export = request.query.get("format", "csv")
    if export not in EXPORT_FORMATS:
        raise InvalidInput("format is csv or json")
    by = request.query.get("by", "client")
    if by not in CSV_BY:
        raise InvalidInput("by is client, week or total")
    header = request.query.get("header", "titles")
    if header not in CSV_HEADERS:
        raise InvalidInput("header is titles or keys")
    report = await _report(request, AccessAction.EXPORT)
    name = f"hoiva-report-{report.request.start}-{report.request.end}"
    if export == "json":
        response = web.json_response(report_as_dict(report))
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    buffer = io.StringIO()
    language = state.language(request)
    rows = (
        csv_table(report, by)
        if header == "keys"
        else csv_table(report, by, lambda column: column_title(column, language))
    )
    csv.writer(buffer).writerows(rows)
    return web.Response(
        text=buffer.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{by}.csv"'},
    )
