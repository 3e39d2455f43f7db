"""Report figures, checked exactly against the hand-counted month in report_seed.py."""

from __future__ import annotations

from datetime import date

import pytest

from care_sessions.reports import (
    ClientRow,
    ReportRequest,
    ReportTotals,
    WeekRow,
    build_report,
    month_request,
    report_as_dict,
)
from tests.store.conftest import Stores
from tests.store.report_seed import END, G_PER_KM, KM_DEFAULT, START, Seeded, seed_november

approx = pytest.approx


def _request(**changes: object) -> ReportRequest:
    values: dict[str, object] = {
        "start": START,
        "end": END,
        "km_per_visit": KM_DEFAULT,
        "emission_g_per_km": G_PER_KM,
    }
    values.update(changes)
    return ReportRequest(**values)  # type: ignore[arg-type]


@pytest.fixture
async def seeded(stores: Stores) -> Seeded:
    return await seed_november(stores.engine)


async def test_month_totals(stores: Stores, seeded: Seeded) -> None:
    totals = await stores.checkins.report_totals(_request())
    assert totals == ReportTotals(
        virtual_visits=5,
        visit_minutes=approx(43.0),
        checkins_due=9,
        checkins_done=6,
        checkins_missed=4,
        checkins_escalated=3,
        adherence_pct=approx(500 / 9),
        escalations=3,
        escalation_median_min=approx(60.0),
        help_calls=3,
        help_answer_median_s=approx(30.0),
        meal_room_attendance=3,
        calls_placed=7,
        media_connected_pct=approx(80.0),
        media_failed=1,
        media_setup_median_s=approx(3.0),
        km_avoided=approx(62.0),
        co2_kg=approx(12.4),
    )


async def test_team_filter(stores: Stores, seeded: Seeded) -> None:
    totals = await stores.checkins.report_totals(_request(team="Kallio"))
    assert (totals.virtual_visits, totals.calls_placed) == (4, 6)
    assert totals.visit_minutes == approx(41.0)
    assert totals.km_avoided == approx(42.0) and totals.co2_kg == approx(8.4)
    assert (totals.checkins_due, totals.checkins_done, totals.checkins_missed) == (8, 5, 4)
    assert totals.adherence_pct == approx(50.0)
    assert (totals.help_calls, totals.help_answer_median_s) == (2, approx(30.0))
    assert totals.media_connected_pct == approx(75.0)
    assert totals.meal_room_attendance == 3


async def test_client_filter_and_empty_medians(stores: Stores, seeded: Seeded) -> None:
    totals = await stores.checkins.report_totals(_request(client_id=seeded.helmi.id))
    assert (totals.virtual_visits, totals.km_avoided, totals.checkins_due) == (1, 20.0, 1)
    assert totals.adherence_pct == approx(100.0)
    assert (totals.help_calls, totals.help_answer_median_s) == (1, None)
    assert (totals.escalations, totals.escalation_median_min) == (0, None)
    assert totals.meal_room_attendance == 0, "Helmi's only lunch was on 31 October"
    nobody = await stores.checkins.report_totals(_request(client_id=seeded.toivo.id))
    assert nobody == ReportTotals(), "Toivo's activity is all just outside the month"


async def test_rows_by_client(stores: Stores, seeded: Seeded) -> None:
    rows = await stores.checkins.report_by_client(_request())
    assert [r.name for r in rows] == ["Aino K.", "Eino V.", "Helmi M."]
    aino, eino, helmi = rows
    assert aino == ClientRow(
        client_id=seeded.aino.id,
        name="Aino K.",
        team="Kallio",
        virtual_visits=3,
        visit_minutes=approx(36.0),
        checkins_due=4,
        checkins_done=4,
        checkins_missed=2,
        checkins_escalated=1,
        adherence_pct=approx(75.0),
        km_avoided=approx(30.0),
        co2_kg=approx(6.0),
    )
    assert (eino.virtual_visits, eino.km_avoided, eino.adherence_pct) == (1, 12.0, 25.0)
    assert (eino.checkins_due, eino.checkins_missed, eino.checkins_escalated) == (4, 2, 2)
    assert (helmi.team, helmi.km_avoided, helmi.adherence_pct) == ("Vallila", 20.0, 100.0)
    kallio = await stores.checkins.report_by_client(_request(team="Kallio"))
    assert [r.client_id for r in kallio] == [seeded.aino.id, seeded.eino.id]


async def test_rows_by_week(stores: Stores, seeded: Seeded) -> None:
    weeks = await stores.checkins.report_by_week(_request())
    assert [w.week_start for w in weeks] == [
        date(2026, 11, 1),
        date(2026, 11, 2),
        date(2026, 11, 9),
        date(2026, 11, 16),
        date(2026, 11, 23),
        date(2026, 11, 30),
    ]
    assert weeks[0] == WeekRow(date(2026, 11, 1))
    assert weeks[1] == WeekRow(date(2026, 11, 2), 2, approx(15.0), 4, 4, 2, 1, approx(75.0))
    assert weeks[2] == WeekRow(date(2026, 11, 9), 1, approx(20.0), 3, 1, 1, 1, approx(100 / 3))
    assert weeks[3] == WeekRow(date(2026, 11, 16), 1, approx(6.0), 1, 0, 1, 1, approx(0.0))
    assert weeks[4] == WeekRow(date(2026, 11, 23), 0, 0.0, 0, 0, 0, 0, None)
    assert weeks[5] == WeekRow(date(2026, 11, 30), 1, approx(2.0), 1, 1, 0, 0, approx(100.0))


async def test_default_emission_factor_and_json_shape(stores: Stores, seeded: Seeded) -> None:
    request = month_request(2026, 11, km_per_visit=KM_DEFAULT)
    report = await build_report(stores.checkins, request)
    assert report.totals.co2_kg == approx(62 * 217.0 / 1000)
    as_json = report_as_dict(report)
    assert as_json["period"] == {"start": "2026-11-01", "end": "2026-11-30"}
    assert as_json["totals"]["virtual_visits"] == 5  # type: ignore[index]
    assert len(as_json["clients"]) == 3  # type: ignore[arg-type]
    assert len(as_json["weeks"]) == 6  # type: ignore[arg-type]


async def test_teams_and_an_empty_database(stores: Stores) -> None:
    assert await stores.checkins.teams() == []
    assert await stores.checkins.report_totals(_request()) == ReportTotals()
    assert await stores.checkins.report_by_client(_request()) == []
    assert all(w.virtual_visits == 0 for w in await stores.checkins.report_by_week(_request()))
