"""The demo's check-in history covers the whole of today, whenever the demo starts."""

from __future__ import annotations

import random
from datetime import datetime, time
from zoneinfo import ZoneInfo

from care_sessions.checkins import CheckinStatus
from care_sessions.identity import Client
from care_sessions.schedule import local_day
from hoiva.demo_care import _history, _plan

HELSINKI = ZoneInfo("Europe/Helsinki")


def test_a_demo_started_in_the_evening_still_shows_todays_morning_and_evening_medicine() -> None:
    """Started at 20:00, Aino's 08:00 and 18:00 medicines are today's history, not missing."""
    aino = Client(id="c-aino", first_name="Aino", last_name="Testinen")
    items = _plan(aino, "admin")
    now = datetime(2026, 12, 7, 20, 0, tzinfo=HELSINKI)
    rows = _history(items, now, random.Random(1))
    today = [c for c in rows if local_day(c.scheduled_at) == local_day(now)]
    times = sorted(c.scheduled_at.astimezone(HELSINKI).time() for c in today)
    assert time(8) in times and time(18) in times
    assert all(c.status in (CheckinStatus.DONE, CheckinStatus.CLOSED) for c in today)
    # Nothing whose window is still open or to come: the check-in service creates those.
    assert all(c.closes_at <= now for c in rows)
