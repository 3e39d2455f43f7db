"""The reports page in Chromium: its charts are drawn from the SQL figures, and it prints."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.web.browser import DASHBOARD_VIEWPORT, screenshot, sign_in
from tests.web.test_reports_routes import NOVEMBER, seed

pytestmark = pytest.mark.browser


async def test_reports_page_draws_its_charts(
    server: RunningServer, browser: Browser, tmp_path: Path
) -> None:
    seeded = await seed(server)
    context = await browser.new_context(viewport=DASHBOARD_VIEWPORT)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        await sign_in(page, server.url, "nurse1", NURSE_PASSWORD)
        await page.goto(f"{server.url}/reports?{NOVEMBER}")
        await page.wait_for_function("() => window.hoivaReports && window.hoivaReports.ready")
        assert await page.evaluate("() => window.hoivaReports.error") is None
        weekly = page.locator("#chart-weekly svg")
        await expect(weekly).to_have_attribute(
            "aria-label", "Virtual visits per week, 5 in all, and adherence per week"
        )
        assert await page.locator("#chart-weekly rect.bar").count() == 6
        # Weeks with check-ins due get an adherence point: 4 of the 6.
        assert await page.locator("#chart-weekly circle.dot").count() == 4
        bars = page.locator("#chart-adherence rect.bar")
        assert await bars.count() == 3
        # Lowest first, and the ones under 80 % marked.
        assert await bars.first.get_attribute("data-client") == seeded.eino.id
        assert await page.locator("#chart-adherence rect.bar-low").count() == 2
        box = await page.locator("#chart-adherence svg").bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 50
        await expect(page.locator('.figure[data-key="virtual_visits"] .figure-value')).to_have_text(
            "5"
        )
        shot = tmp_path / "reports.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        await screenshot(page, "reports")

        await page.get_by_role("link", name="Printable view").click()
        await page.wait_for_function("() => window.hoivaReports && window.hoivaReports.ready")
        assert await page.locator("#chart-weekly rect.bar").count() == 6
        await page.emulate_media(media="print")
        await expect(page.locator("header.topbar")).to_be_hidden()
        await expect(page.get_by_role("button", name="Print")).to_be_hidden()
        pdf = await page.pdf()
        assert pdf[:4] == b"%PDF"
        await screenshot(page, "reports-print")
        assert errors == []
    finally:
        await context.close()
