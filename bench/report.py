"""The monthly report over years of a city service, on SQLite and on PostgreSQL.

Loads 1,000 clients with 1 million call records and 3 million check-ins (about 2.7 years:
one call and three check-ins per client per day, with realistic outcomes, misses, tasks
and help calls), then times the monthly report exactly as the reports page runs it
(totals, per-client rows and weekly rows: store.report_queries).

    .venv/bin/python -m bench.report [--scale 0.1] [--postgres-url URL]

PostgreSQL: a private throwaway server (tests/pg.py) unless --postgres-url names an empty
database to fill (e.g. one on the machine's own 127.0.0.1:5432).
The last line printed is one JSON object:
{"sessions": .., "checkins": .., "sqlite_s": .., "postgres_s": ..}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time as clock
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from care_sessions.reports import ReportRequest, build_report, month_request
from care_sessions.schedule import at_local
from store import create_store_engine, migrate
from store.checkin_store import SqlCheckinStore

CLIENTS = 1000
FIRST_DAY = date(2024, 4, 1)
TEAMS = ("Kallio", "Vallila", "Kamppi", "Malmi", "Vuosaari")
NURSES = [str(uuid.UUID(int=10_000 + n)) for n in range(40)]
PLAN = ((time(8, 0), "medication"), (time(13, 0), "exercise"), (time(18, 0), "medication"))
CHUNK = 50_000


@dataclass(frozen=True)
class Scale:
    days: int
    sessions_per_day: int  # per client
    checkins_per_day: int  # per client

    @property
    def sessions(self) -> int:
        return CLIENTS * self.days * self.sessions_per_day

    @property
    def checkins(self) -> int:
        return CLIENTS * self.days * self.checkins_per_day


def client_id(n: int) -> str:
    return str(uuid.UUID(int=n + 1))


# ---- rows --------------------------------------------------------------------------------


def clients() -> list[tuple[Any, ...]]:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        (client_id(n), f"Client{n}", f"Bench{n % 97}", "fi", False, 10, created)
        for n in range(CLIENTS)
    ]


def profiles() -> list[tuple[Any, ...]]:
    updated = datetime(2024, 1, 1, tzinfo=UTC)
    return [
        (client_id(n), TEAMS[n % len(TEAMS)], None if n % 4 == 0 else 5.0 + n % 20, updated)
        for n in range(CLIENTS)
    ]


def sessions(scale: Scale, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """care_session rows: one call per client per day, 85 % answered, a few help calls."""
    for day_index in range(scale.days):
        day_start = datetime.combine(FIRST_DAY + timedelta(days=day_index), time(6), UTC)
        for n in range(CLIENTS):
            ring = day_start + timedelta(seconds=rng.randrange(12 * 3600))
            kind = "help_call" if rng.random() < 0.12 else "call"
            roll = rng.random()
            answer = media = None
            if roll < 0.85:
                answer = ring + timedelta(seconds=rng.uniform(2, 30))
                if rng.random() < 0.96:
                    media = answer + timedelta(seconds=rng.uniform(0.5, 4))
                end = answer + timedelta(seconds=rng.uniform(120, 1500))
                reason = "completed" if media is not None else "media_failed"
            elif roll < 0.95:
                end, reason = ring + timedelta(seconds=45), "unanswered"
            else:
                end, reason = ring, "offline"
            nurse = NURSES[n % len(NURSES)]
            yield (
                f"s{day_index:04d}-{n:04d}",
                kind,
                client_id(n),
                nurse,
                nurse,
                ring,
                answer,
                media,
                end,
                reason,
            )


def help_requests(scale: Scale, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for day_index in range(scale.days):
        day_start = datetime.combine(FIRST_DAY + timedelta(days=day_index), time(7), UTC)
        for n in rng.sample(range(CLIENTS), 50):
            asked = day_start + timedelta(seconds=rng.randrange(10 * 3600))
            taken = asked + timedelta(seconds=rng.uniform(5, 240))
            yield (f"h{day_index:04d}-{n:04d}", client_id(n), asked, NURSES[n % 40], taken)


def checkins(
    scale: Scale, rng: random.Random, tasks: list[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """checkin rows with the lifecycle's outcomes; escalated ones add a task to `tasks`."""
    plan = PLAN[: scale.checkins_per_day]
    for day_index in range(scale.days):
        day = FIRST_DAY + timedelta(days=day_index)
        slots = [(wall, kind, at_local(day, wall)) for wall, kind in plan]
        for n in range(CLIENTS):
            cid = client_id(n)
            for slot, (wall, kind, at) in enumerate(slots):
                item = str(uuid.UUID(int=(n + 1) * 16 + slot))
                checkin_id = f"{item}:{day}:{wall:%H%M}"
                window = timedelta(minutes=30)
                opens, closes = at - window, at + window
                roll = rng.random()
                missed = escalated = home = None
                status, outcome, done_at = "done", "taken" if kind == "medication" else "done", None
                if roll < 0.80:
                    done_at = opens + timedelta(minutes=rng.uniform(0, 55))
                elif roll < 0.87:
                    outcome = "not_taken" if kind == "medication" else "not_done"
                    done_at = opens + timedelta(minutes=rng.uniform(0, 55))
                elif roll < 0.93:
                    missed, done_at = closes, closes + timedelta(minutes=rng.uniform(1, 19))
                elif roll < 0.97:
                    missed, escalated = closes, closes + timedelta(minutes=20)
                    done_at = escalated + timedelta(minutes=rng.uniform(3, 90))
                    tasks.append((checkin_id, cid, escalated, done_at))
                else:
                    status, outcome, missed = "closed", None, closes
                    escalated, home = closes + timedelta(minutes=20), closes + timedelta(minutes=80)
                    tasks.append((checkin_id, cid, escalated, home + timedelta(hours=2)))
                yield (
                    checkin_id,
                    cid,
                    item,
                    kind,
                    "evening medicine" if wall.hour == 18 else f"{kind} check",
                    "Metformin 500 mg" if kind == "medication" else "",
                    day,
                    f"{wall:%H:%M}",
                    at,
                    opens,
                    closes,
                    30,
                    "client",
                    True,
                    status,
                    2 if missed else 0,
                    None,
                    opens,
                    missed,
                    escalated,
                    home,
                    done_at,
                    cid if outcome else None,
                    outcome,
                )


CHECKIN_COLUMNS = [
    "id",
    "client_id",
    "plan_item_id",
    "kind",
    "label",
    "detail",
    "local_date",
    "local_time",
    "scheduled_at",
    "opens_at",
    "closes_at",
    "window_min",
    "completed_by",
    "remind",
    "status",
    "attempts",
    "next_action_at",
    "due_at",
    "missed_at",
    "escalated_at",
    "home_visit_at",
    "done_at",
    "done_by",
    "outcome",
]
SESSION_COLUMNS = [
    "id",
    "kind",
    "client_id",
    "started_by",
    "ended_by",
    "ring_at",
    "answer_at",
    "media_at",
    "end_at",
    "end_reason",
]
HELP_COLUMNS = ["id", "client_id", "created_at", "taken_by", "taken_at"]
CLIENT_COLUMNS = [
    "id",
    "first_name",
    "last_name",
    "language",
    "auto_answer",
    "auto_answer_after_s",
    "created_at",
]
PROFILE_COLUMNS = ["client_id", "team", "km_per_visit", "updated_at"]


def _tasks(tasks: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    for checkin_id, cid, created, resolved in tasks:
        yield (f"esc:{checkin_id}", checkin_id, cid, "nurse", "m", created, resolved, "outcome", "")


TASK_COLUMNS = [
    "id",
    "checkin_id",
    "client_id",
    "stage",
    "message",
    "created_at",
    "resolved_at",
    "resolution",
    "note",
]


# ---- loading -----------------------------------------------------------------------------


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _chunks(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_sqlite(path: Path, scale: Scale) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")

    def put(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        for chunk in _chunks(rows):
            conn.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in chunk])
        conn.commit()

    rng = random.Random(7)
    tasks: list[tuple[Any, ...]] = []
    put("client", CLIENT_COLUMNS, iter(clients()))
    put("client_care_profile", PROFILE_COLUMNS, iter(profiles()))
    put("care_session", SESSION_COLUMNS, sessions(scale, rng))
    put("help_request", HELP_COLUMNS, help_requests(scale, rng))
    put("checkin", CHECKIN_COLUMNS, checkins(scale, rng, tasks))
    put("escalation", TASK_COLUMNS, _tasks(tasks))
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


async def load_postgres(url: str, scale: Scale) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:

        async def put(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
            for chunk in _chunks(rows):
                await conn.copy_records_to_table(table, records=chunk, columns=columns)

        rng = random.Random(7)
        tasks: list[tuple[Any, ...]] = []
        await put("client", CLIENT_COLUMNS, iter(clients()))
        await put("client_care_profile", PROFILE_COLUMNS, iter(profiles()))
        await put("care_session", SESSION_COLUMNS, sessions(scale, rng))
        await put("help_request", HELP_COLUMNS, help_requests(scale, rng))
        await put("checkin", CHECKIN_COLUMNS, checkins(scale, rng, tasks))
        await put("escalation", TASK_COLUMNS, _tasks(tasks))
        # VACUUM sets the visibility map, so the covering index serves index-only scans.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


# ---- timing ------------------------------------------------------------------------------


async def time_report(url: str, request: ReportRequest, runs: int) -> tuple[float, float, int]:
    """(first run, median of the following runs, virtual visits) of the monthly report."""
    engine = create_store_engine(url)
    store = SqlCheckinStore(engine)
    timings = []
    visits = 0
    try:
        for _ in range(runs + 1):
            started = clock.perf_counter()
            report = await build_report(store, request)
            timings.append(clock.perf_counter() - started)
            visits = report.totals.virtual_visits
    finally:
        await engine.dispose()
    return timings[0], statistics.median(timings[1:]), visits


async def _schema(url: str) -> None:
    engine = create_store_engine(url)
    try:
        await migrate(engine)
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    scale = Scale(days=max(1, round(1000 * args.scale)), sessions_per_day=1, checkins_per_day=3)
    # The last full month of the loaded years.
    month_before_end = (FIRST_DAY + timedelta(days=scale.days)).replace(day=1) - timedelta(days=1)
    request = month_request(month_before_end.year, month_before_end.month)
    print(
        f"Loading {CLIENTS} clients, {scale.sessions:,} sessions and {scale.checkins:,} "
        f"check-ins ({scale.days} days); report for {request.start:%B %Y}.",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="hoiva-bench-report-"))
    result: dict[str, Any] = {"sessions": scale.sessions, "checkins": scale.checkins}
    try:
        sqlite_url = f"sqlite+aiosqlite:///{workdir}/report.sqlite3"
        await _schema(sqlite_url)
        started = clock.perf_counter()
        await asyncio.to_thread(load_sqlite, workdir / "report.sqlite3", scale)
        print(f"SQLite loaded in {clock.perf_counter() - started:.0f} s", flush=True)
        first, median, visits = await time_report(sqlite_url, request, args.runs)
        print(f"SQLite: monthly report {median:.3f} s (first run {first:.3f} s, {visits} visits)")
        result["sqlite_s"] = round(median, 3)

        with contextlib.ExitStack() as stack:
            url = args.postgres_url
            if url is None:
                from tests.pg import throwaway_postgres

                url = stack.enter_context(throwaway_postgres()).create_database("hoiva_bench")
            await _schema(url)
            started = clock.perf_counter()
            await load_postgres(url, scale)
            print(f"PostgreSQL loaded in {clock.perf_counter() - started:.0f} s", flush=True)
            first, median, visits = await time_report(url, request, args.runs)
            print(
                f"PostgreSQL: monthly report {median:.3f} s (first run {first:.3f} s, "
                f"{visits} visits)"
            )
            result["postgres_s"] = round(median, 3)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the 1,000 days")
    parser.add_argument("--runs", type=int, default=5, help="timed runs after a warm-up")
    parser.add_argument("--postgres-url", help="an empty PostgreSQL database to fill")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    sys.stdout.flush()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
