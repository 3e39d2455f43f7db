"""Report questions and columns: Helsinki periods, ISO weeks, CSV cells, driving defaults."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from care_sessions.errors import InvalidInput
from care_sessions.reports import (
    SEED_EMISSION_G_PER_KM,
    TOTAL_COLUMNS,
    ClientRow,
    Report,
    ReportRequest,
    ReportTotals,
    WeekRow,
    csv_table,
    month_request,
)


def test_the_seed_emission_factor_is_about_217_g_per_km() -> None:
    assert pytest.approx(217.14, abs=0.01) == SEED_EMISSION_G_PER_KM
    assert ReportRequest(date(2026, 1, 1), date(2026, 1, 31)).emission_g_per_km == 217.0


def test_periods_are_helsinki_days_across_dst() -> None:
    march = month_request(2026, 3)
    assert (march.start, march.end) == (date(2026, 3, 1), date(2026, 3, 31))
    assert march.lo == datetime(2026, 2, 28, 22, 0, tzinfo=UTC)  # midnight at UTC+2
    assert march.hi == datetime(2026, 3, 31, 21, 0, tzinfo=UTC)  # midnight at UTC+3
    assert month_request(2026, 12).end == date(2026, 12, 31)


def test_weeks_are_iso_weeks_cut_to_the_period() -> None:
    weeks = month_request(2026, 11).weeks()
    assert [w.start for w in weeks] == [
        date(2026, 11, 1),
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
        date(2026, 11, 30),
    ]
    assert weeks[0].hi == weeks[1].lo, "weeks are consecutive"
    assert weeks[-1].hi == month_request(2026, 11).hi


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2026, 2, 1), date(2026, 1, 1)), (date(2020, 1, 1), date(2026, 1, 1))],
)
def test_bad_periods_are_refused(start: date, end: date) -> None:
    with pytest.raises(InvalidInput):
        ReportRequest(start, end)


def test_csv_cells_are_raw_numbers_with_none_empty() -> None:
    request = month_request(2026, 11)
    report = Report(
        request,
        ReportTotals(virtual_visits=5, adherence_pct=500 / 9, km_avoided=1_750_000.0),
        [ClientRow("c1", "Aino K.", "Kallio", virtual_visits=3, adherence_pct=None)],
        [WeekRow(date(2026, 11, 2), 2, 15.0)],
    )
    header, row = csv_table(report, "total")
    assert header[0] == "virtual_visits"
    cells = dict(zip(header, row, strict=True))
    assert (cells["virtual_visits"], cells["adherence_pct"]) == ("5", "55.556")
    assert cells["km_avoided"] == "1750000.0"
    assert cells["help_answer_median_s"] == ""
    _, client = csv_table(report, "client")
    assert client[:4] == ["c1", "Aino K.", "Kallio", "3"]
    _, week = csv_table(report, "week")
    assert week[:3] == ["2026-11-02", "2", "15.0"]
    with pytest.raises(InvalidInput):
        csv_table(report, "team")


def test_page_texts_say_n_a_for_missing_figures() -> None:
    columns = {c.key: c for c in TOTAL_COLUMNS}
    adherence = columns["adherence_pct"]
    assert adherence.text(adherence.value(ReportTotals())) == "n/a"
    assert adherence.text(adherence.value(ReportTotals(adherence_pct=55.5555))) == "55.6"
    km = columns["km_avoided"]
    assert km.text(km.value(ReportTotals(km_avoided=1_750_000.0))) == "1\u202f750\u202f000"
