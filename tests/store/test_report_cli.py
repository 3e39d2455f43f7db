"""`hoiva report` on SQLite and PostgreSQL: CSV and JSON of the hand-counted month."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path

import pytest

from hoiva.cli import main
from store import create_store_engine, migrate
from tests.store.report_seed import Seeded, seed_november


def _seed(url: str) -> Seeded:
    async def run() -> Seeded:
        engine = create_store_engine(url)
        try:
            await migrate(engine)
            return await seed_november(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_csv_by_client_with_a_progress_bar(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(database_url)
    code = main(
        ["report", "--database-url", database_url, "--month", "2026-11", "--progress", "always"]
    )
    assert code == 0
    out, err = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["name"], r["virtual_visits"], r["adherence_pct"]) for r in rows] == [
        ("Aino K.", "3", "75.0"),
        ("Eino V.", "1", "25.0"),
        ("Helmi M.", "1", "100.0"),
    ]
    assert "[" in err and "100%" in err and "writing client rows 3/3" in err


def test_json_for_a_team_to_a_file(database_url: str, tmp_path: Path) -> None:
    _seed(database_url)
    target = tmp_path / "kallio.json"
    argv = ["report", "--database-url", database_url, "--from", "2026-11-01", "--to", "2026-11-30"]
    assert main([*argv, "--team", "Kallio", "--format", "json", "-o", str(target)]) == 0
    report = json.loads(target.read_text())
    assert report["team"] == "Kallio"
    assert report["totals"]["virtual_visits"] == 4
    assert report["totals"]["km_avoided"] == pytest.approx(42.0)
    assert report["totals"]["co2_kg"] == pytest.approx(42 * 0.217)
    assert [c["name"] for c in report["clients"]] == ["Aino K.", "Eino V."]


def test_totals_and_weeks_as_csv(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    _seed(database_url)
    base = ["report", "--database-url", database_url, "--month", "2026-11", "--progress", "never"]
    assert main([*base, "--by", "total"]) == 0
    [totals] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert (totals["checkins_due"], totals["checkins_missed"], totals["meal_room_attendance"]) == (
        "9",
        "4",
        "3",
    )
    assert totals["media_connected_pct"] == "80.0"
    assert main([*base, "--by", "week"]) == 0
    out, err = capsys.readouterr()
    weeks = list(csv.DictReader(io.StringIO(out)))
    assert [w["week_start"] for w in weeks][:2] == ["2026-11-01", "2026-11-02"]
    assert err == ""


def test_bad_periods_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/r.sqlite3"
    assert main(["report", "--database-url", url, "--month", "2026-13"]) == 2
    assert (
        main(["report", "--database-url", url, "--from", "2026-11-05", "--to", "2026-11-01"]) == 2
    )
    assert "ends before it starts" in capsys.readouterr().err
