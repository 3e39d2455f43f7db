"""Server-written text follows the reader's language: report pages, CSV headers, sessions."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from html import unescape

from care_sessions.schedule import local_day
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.web.staff_client import StaffBrowser
from tests.web.test_care_routes import record_help_call
from tests.web.test_reports_routes import NOVEMBER, seed

FI = {"Accept-Language": "fi-FI,fi;q=0.9"}
SV = {"Accept-Language": "sv-FI,sv;q=0.9"}


async def test_csv_headers_follow_the_language_and_keys_stay_for_scripts(
    server: RunningServer,
) -> None:
    """A Finnish nurse's CSV has Finnish column titles; header=keys keeps the stable keys."""
    await seed(server)
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        url = f"/reports/export?{NOVEMBER}&format=csv&by=client"
        finnish = await nurse.get(url, headers=FI)
        [header, *rows] = list(csv.reader(io.StringIO(await finnish.text())))
        assert header[:4] == ["Asiakkaan tunnus", "Asiakas", "Tiimi", "Etäkäynnit"]
        assert "Toteutuminen (%)" in header
        assert len(rows) == 3
        swedish = await nurse.get(url, headers=SV)
        assert next(csv.reader(io.StringIO(await swedish.text())))[3] == "Distansbesök"
        keys = await nurse.get(f"{url}&header=keys", headers=FI)
        assert next(csv.reader(io.StringIO(await keys.text())))[:2] == ["client_id", "name"]


async def test_report_page_and_printable_view_in_swedish(server: RunningServer) -> None:
    """Titles, groups, decimal commas and the definitions, on the page and the printable view."""
    await seed(server)
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        for path in (f"/reports?{NOVEMBER}", f"/reports/print?{NOVEMBER}"):
            html = await (await admin.get(path, headers=SV)).text()
            for text in ("Distansbesök", "Följsamhet", "55,6", "Så räknas siffrorna", "Körning"):
                assert text in html, (path, text)
            assert "Virtual visits" not in html, path


async def test_the_open_week_is_in_progress_not_zero(server: RunningServer) -> None:
    """The week that has not ended shows "in progress" and has no adherence point."""
    today = local_day(server.services.clock.now())
    query = f"start={(today - timedelta(days=13)).isoformat()}&end={today.isoformat()}"
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        html = await (await nurse.get(f"/reports?{query}", headers=FI)).text()
    data = re.search(r'data-report="([^"]*)"', html)
    assert data is not None
    weeks = json.loads(unescape(data.group(1)))["weeks"]
    assert weeks[-1]["in_progress"] is True and weeks[-1]["adherence_pct"] is None
    assert all(not week["in_progress"] for week in weeks[:-1])
    assert "kesken" in html


async def test_sessions_page_in_finnish_and_helsinki_time(server: RunningServer) -> None:
    """Kinds, end reasons, times (Helsinki, Finnish style) and durations in Finnish."""
    await record_help_call(server, "call-fi", talked_s=3725)
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        html = await (await admin.get("/sessions", headers=FI)).text()
    for text in (
        "Avunpyyntöpuhelu",
        "30.11.2026 11.00",
        "vastattu 11.00",
        "1 t 2 min",
        "Asiakas hylkäsi puhelun",
    ):
        assert text in html, text
