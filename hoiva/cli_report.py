"""`hoiva report`: the care report as CSV or JSON, for a month or any period, team or client.

The figures are the same SQL aggregates the reports page shows. A long export (a city's
thousand clients over a year) shows a progress bar on the terminal; pipes and files get
only the data.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from care_sessions.errors import InvalidInput
from care_sessions.reports import (
    Report,
    ReportRequest,
    csv_table,
    month_request,
    report_as_dict,
)
from care_sessions.schedule import local_day
from hoiva.config import load_config
from store import create_store_engine, migrate
from store.checkin_store import SqlCheckinStore
from web.i18n import LANGUAGES, Catalogues
from web.routes_reports import column_title

BAR_WIDTH = 30


class Progress:
    """A one-line bar on stderr: `[#####.....]  45%  clients 450/1000`."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self._stream = stream
        self._enabled = enabled
        self._last = ""

    def show(self, done: int, total: int, what: str) -> None:
        if not self._enabled:
            return
        share = done / total if total else 1.0
        filled = round(share * BAR_WIDTH)
        line = f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%}  {what}"
        if line != self._last:
            self._stream.write(line.ljust(len(self._last)))
            self._stream.flush()
            self._last = line

    def finish(self) -> None:
        if self._enabled and self._last:
            self._stream.write("\n")
            self._stream.flush()


def add_parser(sub: Any) -> None:
    """Register `hoiva report` on the main parser's subcommands."""
    report = sub.add_parser(
        "report", help="export the care report (visits, check-ins, driving avoided) as CSV/JSON"
    )
    report.add_argument("--config", type=Path, help="TOML file (see hoiva.sample.toml)")
    report.add_argument("--database-url")
    period = report.add_mutually_exclusive_group()
    period.add_argument("--month", help="YYYY-MM (default: last month)")
    period.add_argument("--from", dest="start", help="first day, YYYY-MM-DD")
    report.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (default: today)")
    report.add_argument("--team")
    report.add_argument("--client", help="one client's id")
    report.add_argument("--format", choices=["csv", "json"], default="csv")
    report.add_argument(
        "--by", choices=["client", "week", "total"], default="client", help="CSV rows"
    )
    report.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    report.add_argument(
        "--language",
        choices=list(LANGUAGES),
        help="CSV header as column titles in this language (default: the stable column keys)",
    )
    report.add_argument(
        "--progress",
        choices=["auto", "always", "never"],
        default="auto",
        help="progress bar on stderr (auto: when stderr is a terminal)",
    )
    report.set_defaults(func=run_report)


def request_from(args: argparse.Namespace, today: date) -> ReportRequest:
    """The period the options name; the last full month when they name none."""
    try:
        if args.month:
            year, month = (int(part) for part in args.month.split("-"))
            request = month_request(year, month)
        elif args.start:
            end = date.fromisoformat(args.end) if args.end else today
            request = ReportRequest(date.fromisoformat(args.start), end)
        else:
            last_month = today.replace(day=1) - timedelta(days=1)
            request = month_request(last_month.year, last_month.month)
    except ValueError as exc:
        raise InvalidInput(f"dates are YYYY-MM-DD and months YYYY-MM ({exc})") from None
    return replace(request, team=args.team or None, client_id=args.client or None)


async def run_report(args: argparse.Namespace) -> int:
    overrides = {"database.url": args.database_url} if args.database_url else {}
    config = load_config(args.config, overrides=overrides)
    today = local_day(datetime.now(UTC))
    try:
        request = replace(
            request_from(args, today),
            km_per_visit=config.care.km_per_visit,
            emission_g_per_km=config.care.emission_g_per_km,
        )
    except InvalidInput as exc:
        print(f"hoiva report: {exc}", file=sys.stderr)
        return 2
    show = args.progress == "always" or (args.progress == "auto" and sys.stderr.isatty())
    progress = Progress(sys.stderr, show)
    engine = create_store_engine(config.database.url)
    try:
        await migrate(engine)
        report = await _collect(SqlCheckinStore(engine), request, progress)
    finally:
        await engine.dispose()
    text = _render(report, args.format, args.by, progress, args.language)
    progress.finish()
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text)
        print(f"Wrote {args.output}", file=sys.stderr)
    return 0


async def _collect(store: SqlCheckinStore, request: ReportRequest, progress: Progress) -> Report:
    steps: list[tuple[str, Callable[[ReportRequest], Coroutine[Any, Any, Any]]]] = [
        ("totals", store.report_totals),
        ("clients", store.report_by_client),
        ("weeks", store.report_by_week),
    ]
    results: list[Any] = []
    for index, (name, query) in enumerate(steps):
        progress.show(index, len(steps) + 1, f"querying {name}")
        results.append(await query(request))
    return Report(request, results[0], results[1], results[2])


def _render(
    report: Report, export: str, by: str, progress: Progress, language: str | None = None
) -> str:
    if export == "json":
        progress.show(1, 1, "writing JSON")
        return json.dumps(report_as_dict(report), indent=2, ensure_ascii=False) + "\n"
    if language is None:
        rows = csv_table(report, by)
    else:
        reader = Catalogues(languages=[language])[language]
        rows = csv_table(report, by, lambda column: column_title(column, reader))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    total = len(rows) - 1
    for index, row in enumerate(rows):
        writer.writerow(row)
        if index % 100 == 0 or index == total:
            progress.show(3 * total + index, 4 * total or 1, f"writing {by} rows {index}/{total}")
    return buffer.getvalue()
