"""A small, hand-counted month of care (November 2026) whose report figures are known exactly.

Helsinki is at UTC+2 all month. Clients: Aino (team Kallio, 10 km per visit), Eino (team
Kallio, the default km), Helmi (team Vallila, 20 km), Toivo (no profile, activity only just
outside the month). EXPECTED_* below are counted by hand from the rows written here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.care_plans import (
    ALL_WEEKDAYS,
    CareProfile,
    CheckinKind,
    Completer,
    Outcome,
    PlanItem,
)
from care_sessions.checkins import Checkin, CheckinStatus
from care_sessions.identity import Client
from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord
from care_sessions.schedule import expand_day
from store import care_tables as ct
from store import room_store as rooms
from store import tables as t
from store.checkin_store import SqlCheckinStore
from store.sql_store import SqlStore

NURSE = "nurse-0000-0000-0000-000000000001"
START, END = date(2026, 11, 1), date(2026, 11, 30)
KM_DEFAULT = 12.0
G_PER_KM = 200.0


@dataclass(frozen=True)
class Seeded:
    aino: Client
    eino: Client
    helmi: Client
    toivo: Client


def _utc(month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, second, tzinfo=UTC)


def _call(
    client: Client,
    ring: datetime,
    *,
    answer_after_s: float | None,
    media_after_answer_s: float | None,
    length_s: float,
    reason: EndReason = EndReason.COMPLETED,
    kind: SessionKind = SessionKind.CALL,
) -> SessionRecord:
    answer = ring + timedelta(seconds=answer_after_s) if answer_after_s is not None else None
    media = (
        answer + timedelta(seconds=media_after_answer_s)
        if answer is not None and media_after_answer_s is not None
        else None
    )
    end = (answer or ring) + timedelta(seconds=length_s)
    return SessionRecord(
        id=str(uuid.uuid4()),
        kind=kind,
        client_id=client.id,
        started_by=NURSE,
        ring_at=ring,
        participants=[
            SessionParticipant("staff", NURSE, "Nina N."),
            SessionParticipant("client", client.id, client.display_name),
        ],
        answer_at=answer,
        media_at=media,
        end_at=end,
        ended_by=NURSE,
        end_reason=reason,
    )


def _checkin(client: Client, kind: CheckinKind, day: date, hh: int, **state: object) -> Checkin:
    item = PlanItem(
        id=str(uuid.uuid4()),
        client_id=client.id,
        kind=kind,
        label=f"{kind} check",
        weekdays=ALL_WEEKDAYS,
        times=(time(hh, 0),),
        medication="Metformin" if kind is CheckinKind.MEDICATION else "",
        dose="500 mg" if kind is CheckinKind.MEDICATION else "",
        completed_by=Completer.CLIENT,
    )
    checkin = expand_day(item, day)[0]
    state.setdefault("next_action_at", None)
    return replace(checkin, **state)  # type: ignore[arg-type]


def _done(outcome: Outcome, **more: object) -> dict[str, object]:
    return {"status": CheckinStatus.DONE, "outcome": outcome, **more}


async def seed_november(engine: AsyncEngine) -> Seeded:
    care = SqlStore(engine)
    checkins = SqlCheckinStore(engine)
    aino = Client(str(uuid.uuid4()), "Aino", "Korhonen")
    eino = Client(str(uuid.uuid4()), "Eino", "Virtanen")
    helmi = Client(str(uuid.uuid4()), "Helmi", "Mäkinen")
    toivo = Client(str(uuid.uuid4()), "Toivo", "Nieminen")
    for client in (aino, eino, helmi, toivo):
        await care.add_client(client)
    await checkins.set_care_profile(CareProfile(aino.id, "Kallio", 10.0))
    await checkins.set_care_profile(CareProfile(eino.id, "Kallio", None))
    await checkins.set_care_profile(CareProfile(helmi.id, "Vallila", 20.0))

    sessions = [
        _call(aino, _utc(11, 2, 9), answer_after_s=10, media_after_answer_s=2, length_s=600),
        _call(aino, _utc(11, 10, 9), answer_after_s=5, media_after_answer_s=4, length_s=1200),
        _call(
            aino,
            _utc(11, 20, 9),
            answer_after_s=20,
            media_after_answer_s=None,
            length_s=360,
            reason=EndReason.MEDIA_FAILED,
            kind=SessionKind.HELP_CALL,
        ),
        _call(eino, _utc(11, 3, 10), answer_after_s=3, media_after_answer_s=1, length_s=300),
        _call(
            eino,
            _utc(11, 3, 11),
            answer_after_s=None,
            media_after_answer_s=None,
            length_s=45,
            reason=EndReason.UNANSWERED,
        ),
        _call(
            eino,
            _utc(11, 4, 11),
            answer_after_s=None,
            media_after_answer_s=None,
            length_s=0,
            reason=EndReason.OFFLINE,
        ),
        # 23:59:59 on the 30th in Helsinki: the last second of the month.
        _call(
            helmi, _utc(11, 30, 21, 59, 59), answer_after_s=1, media_after_answer_s=6, length_s=120
        ),
        # 23:59 on 31 October in Helsinki: just before the month.
        _call(toivo, _utc(10, 31, 21, 59), answer_after_s=2, media_after_answer_s=1, length_s=900),
    ]
    for record in sessions:
        await care.session_started(record)

    async with engine.begin() as conn:
        await conn.execute(
            t.help_request.insert(),
            [
                _help(aino, _utc(11, 20, 8, 59), taken_after_s=45),
                _help(eino, _utc(11, 5, 12), taken_after_s=15),
                _help(helmi, _utc(11, 6, 12), taken_after_s=None, cancelled=True),
                _help(toivo, _utc(10, 31, 20), taken_after_s=5),
            ],
        )

    med, ex, glu = CheckinKind.MEDICATION, CheckinKind.EXERCISE, CheckinKind.GLUCOSE
    rows = [
        _checkin(aino, med, date(2026, 11, 2), 8, **_done(Outcome.TAKEN)),
        _checkin(aino, med, date(2026, 11, 2), 18, **_done(Outcome.TAKEN)),
        _checkin(
            aino, med, date(2026, 11, 3), 8, **_done(Outcome.TAKEN, missed_at=_utc(11, 3, 6, 30))
        ),
        _checkin(
            aino,
            med,
            date(2026, 11, 3),
            18,
            **_done(
                Outcome.NOT_TAKEN, missed_at=_utc(11, 3, 16, 30), escalated_at=_utc(11, 3, 16, 50)
            ),
        ),
        _checkin(aino, med, date(2026, 11, 30), 8, status=CheckinStatus.SCHEDULED),
        _checkin(aino, med, date(2026, 11, 29), 8, status=CheckinStatus.CANCELLED),
        _checkin(eino, ex, date(2026, 11, 10), 10, **_done(Outcome.DONE)),
        _checkin(
            eino,
            ex,
            date(2026, 11, 12),
            10,
            status=CheckinStatus.HOME_VISIT,
            missed_at=_utc(11, 12, 8, 30),
            escalated_at=_utc(11, 12, 9),
        ),
        _checkin(eino, ex, date(2026, 11, 14), 10, status=CheckinStatus.DUE),
        _checkin(
            eino,
            ex,
            date(2026, 11, 16),
            10,
            status=CheckinStatus.CLOSED,
            missed_at=_utc(11, 16, 8, 30),
            escalated_at=_utc(11, 16, 8, 50),
        ),
        # 23:00 on the 30th is in the month; 00:00 on 1 December is not.
        _checkin(helmi, glu, date(2026, 11, 30), 23, **_done(Outcome.MEASURED)),
        _checkin(helmi, glu, date(2026, 12, 1), 0, **_done(Outcome.MEASURED)),
    ]
    await checkins.add_checkins(rows)
    by_key = {(c.client_id, c.local_date, c.local_time.hour): c for c in rows}
    async with engine.begin() as conn:
        await conn.execute(
            ct.escalation.insert(),
            [
                _task(by_key[(aino.id, date(2026, 11, 3), 18)], _utc(11, 3, 16, 50), 30),
                _task(by_key[(eino.id, date(2026, 11, 12), 10)], _utc(11, 12, 9), None),
                _task(by_key[(eino.id, date(2026, 11, 16), 10)], _utc(11, 16, 8, 50), 90),
            ],
        )
    await _meals(engine, aino, eino, helmi)
    return Seeded(aino, eino, helmi, toivo)


async def _meals(engine: AsyncEngine, aino: Client, eino: Client, helmi: Client) -> None:
    """Two lunches in November (Aino at both, dropping out and back once; Eino at one) and
    one on 31 October (Helmi): attendance 3."""
    host = str(uuid.uuid4())
    meal, gym = str(uuid.uuid4()), str(uuid.uuid4())
    lunch1, lunch2, october, workout = (str(uuid.uuid4()) for _ in range(4))
    async with engine.begin() as conn:
        await conn.execute(
            t.staff_user.insert().values(
                id=host,
                username=f"host-{host[:8]}",
                display_name="Hannu Host",
                role="host",
                password_hash="x",
                active=True,
                created_at=_utc(10, 1, 8),
            )
        )
        await conn.execute(
            rooms.meal_room.insert(),
            [
                _room(meal, host, "meal"),
                _room(gym, host, "exercise"),
            ],
        )
        await conn.execute(
            rooms.room_session.insert(),
            [
                {"id": lunch1, "room_id": meal, "opened_at": _utc(11, 9, 9)},
                {"id": lunch2, "room_id": meal, "opened_at": _utc(11, 23, 9)},
                {"id": october, "room_id": meal, "opened_at": _utc(10, 31, 9)},
                {"id": workout, "room_id": gym, "opened_at": _utc(11, 10, 9)},
            ],
        )
        await conn.execute(
            rooms.room_visit.insert(),
            [
                _visit(lunch1, host, _utc(11, 9, 9), "host"),
                _visit(lunch1, aino.id, _utc(11, 9, 9, 1), "client"),
                _visit(lunch1, aino.id, _utc(11, 9, 9, 20), "client"),
                _visit(lunch1, eino.id, _utc(11, 9, 9, 2), "client"),
                _visit(lunch2, aino.id, _utc(11, 23, 9, 1), "client"),
                _visit(october, helmi.id, _utc(10, 31, 9, 1), "client"),
                _visit(workout, eino.id, _utc(11, 10, 9, 1), "client"),
            ],
        )


def _room(room_id: str, host: str, kind: str) -> dict[str, object]:
    return {
        "id": room_id,
        "name": f"{kind} room",
        "kind": kind,
        "host_id": host,
        "capacity": 8,
        "timezone": "Europe/Helsinki",
        "active": True,
        "created_at": _utc(10, 1, 8),
    }


def _visit(session: str, who: str, joined: datetime, role: str) -> dict[str, object]:
    return {"session_id": session, "subject_id": who, "joined_at": joined, "role": role}


def _help(
    client: Client, at: datetime, *, taken_after_s: float | None, cancelled: bool = False
) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "client_id": client.id,
        "created_at": at,
        "taken_by": NURSE if taken_after_s is not None else None,
        "taken_at": at + timedelta(seconds=taken_after_s) if taken_after_s is not None else None,
        "cancelled_at": at + timedelta(minutes=2) if cancelled else None,
    }


def _task(checkin: Checkin, at: datetime, resolved_after_min: float | None) -> dict[str, object]:
    resolved = at + timedelta(minutes=resolved_after_min) if resolved_after_min else None
    return {
        "id": f"esc:{checkin.id}",
        "checkin_id": checkin.id,
        "client_id": checkin.client_id,
        "stage": "nurse",
        "message": "seeded",
        "created_at": at,
        "resolved_at": resolved,
        "resolved_by": NURSE if resolved else None,
        "resolution": "outcome" if resolved else None,
        "note": "",
    }


async def count_rows(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())
