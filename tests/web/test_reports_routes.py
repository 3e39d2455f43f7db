"""The reports page, its printable view, the downloads and the JSON feed, over HTTP."""

from __future__ import annotations

import csv
import io

import pytest

from care_sessions.access_log import AccessQuery
from store.sql_store import SqlStore
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.store.report_seed import Seeded, seed_november
from tests.web.staff_client import StaffBrowser

NOVEMBER = "start=2026-11-01&end=2026-11-30"


async def seed(server: RunningServer) -> Seeded:
    store = server.services.store
    assert isinstance(store, SqlStore)
    return await seed_november(store.engine)


async def test_json_feed_has_the_seeded_figures(server: RunningServer) -> None:
    seeded = await seed(server)
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        response = await nurse.get(f"/api/reports?{NOVEMBER}")
        assert response.status == 200
        report = await response.json()
    totals = report["totals"]
    assert (totals["virtual_visits"], totals["checkins_due"], totals["checkins_done"]) == (5, 9, 6)
    assert totals["km_avoided"] == pytest.approx(62.0)
    # The configured default factor, 217 g/km (the seed report's 380 t / 1.75 million km).
    assert totals["co2_kg"] == pytest.approx(62 * 0.217)
    assert totals["meal_room_attendance"] == 3
    assert [c["name"] for c in report["clients"]] == ["Aino K.", "Eino V.", "Helmi M."]
    assert len(report["weeks"]) == 6
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        one = await (await nurse.get(f"/api/reports?{NOVEMBER}&client={seeded.helmi.id}")).json()
        team = await (await nurse.get(f"/api/reports?{NOVEMBER}&team=Kallio")).json()
    assert one["totals"]["virtual_visits"] == 1
    logged = await server.services.access_log.search(AccessQuery(client_id=seeded.helmi.id))
    assert ("read", "report", "reporting") in {
        (e.action.value, e.data.value, e.purpose.value) for e in logged
    }
    assert team["totals"]["virtual_visits"] == 4


async def test_page_and_printable_view(server: RunningServer) -> None:
    await seed(server)
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        page = await admin.get(f"/reports?{NOVEMBER}")
        assert page.status == 200
        html = await page.text()
        for text in (
            "Virtual visits",
            "Adherence",
            "55.6",
            "Driving avoided",
            "Meal-room attendance",
            "Median video set-up",
            'id="chart-weekly"',
            "Kallio",
            "Helmi M.",
            "/reports/print?start=2026-11-01&amp;end=2026-11-30",
        ):
            assert text in html, text
        printable = await admin.get(f"/reports/print?{NOVEMBER}")
        assert printable.status == 200
        assert "Hoiva virtual care report" in await printable.text()


async def test_csv_and_json_downloads(server: RunningServer) -> None:
    await seed(server)
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        response = await nurse.get(f"/reports/export?{NOVEMBER}&format=csv&by=client&header=keys")
        assert response.status == 200
        assert response.content_type == "text/csv"
        assert (
            "hoiva-report-2026-11-01-2026-11-30-client.csv"
            in response.headers["Content-Disposition"]
        )
        rows = list(csv.DictReader(io.StringIO(await response.text())))
        assert [r["name"] for r in rows] == ["Aino K.", "Eino V.", "Helmi M."]
        assert rows[0]["virtual_visits"] == "3" and rows[0]["adherence_pct"] == "75.0"
        total = await nurse.get(f"/reports/export?{NOVEMBER}&format=csv&by=total&header=keys")
        [only] = list(csv.DictReader(io.StringIO(await total.text())))
        assert (only["virtual_visits"], only["help_answer_median_s"]) == ("5", "30.0")
        weeks = await nurse.get(f"/reports/export?{NOVEMBER}&format=csv&by=week&header=keys")
        assert len(list(csv.DictReader(io.StringIO(await weeks.text())))) == 6
        as_json = await nurse.get(f"/reports/export?{NOVEMBER}&format=json")
        assert (await as_json.json())["totals"]["checkins_missed"] == 4


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-11-31",
        "start=2026-12-01&end=2026-11-01",
        "start=2020-01-01&end=2026-01-01",
        "client=%3Cscript%3E",
        "team=" + "x" * 61,
    ],
)
async def test_bad_questions_get_a_clear_400(server: RunningServer, query: str) -> None:
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        response = await nurse.get(f"/api/reports?{query}")
        assert response.status == 400
        assert (await response.json())["error"] == "bad_message"
        bad_format = await nurse.get("/reports/export?format=xlsx")
        assert bad_format.status == 400


async def test_only_care_staff_see_reports(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    async with StaffBrowser(server.url) as anonymous:
        assert (await anonymous.get("/api/reports")).status == 401
        assert (await anonymous.get("/reports")).status == 302
        tablet = await anonymous.get("/api/reports", headers={"Authorization": f"Bearer {token}"})
        assert tablet.status == 403
