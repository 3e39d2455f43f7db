"""The rooms' store: migration 0010 builds exactly the declared tables, and rooms, meetings
and visits round-trip (including what a crash leaves open)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.identity import Client, Role, StaffUser
from care_sessions.meal_rooms import (
    LeaveReason,
    MealRoom,
    RoomKind,
    RoomSchedule,
    RoomSessionRecord,
    SessionEndReason,
    Visit,
)
from store import SqlStore, create_store_engine, migrate
from store.room_store import SqlRoomStore
from store.tables import metadata

ROOM_TABLES = {"meal_room", "meal_room_member", "room_session", "room_visit"}
T0 = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_store_engine(f"sqlite+aiosqlite:///{tmp_path}/rooms.sqlite3")
    await migrate(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def _about_rooms(entry: Any) -> bool:
    if isinstance(entry, list):
        return any(_about_rooms(item) for item in entry)
    for part in entry[1:]:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if name in ROOM_TABLES or (isinstance(part, str) and part in ROOM_TABLES):
            return True
    return False


async def test_migration_builds_the_declared_room_tables(engine: AsyncEngine) -> None:
    def diff(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return [e for e in compare_metadata(context, metadata) if _about_rooms(e)]

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_rooms_meetings_and_visits_round_trip(engine: AsyncEngine) -> None:
    care = SqlStore(engine)
    rooms = SqlRoomStore(engine)
    host = StaffUser(str(uuid.uuid4()), "hannu", "Hannu", Role.HOST, "x")
    await care.add_staff(host)
    clients = [Client(str(uuid.uuid4()), name, "K") for name in ("Aino", "Eino", "Helmi")]
    for client in clients:
        await care.add_client(client)
    room = MealRoom(
        id=str(uuid.uuid4()),
        name="Lunch",
        kind=RoomKind.MEAL,
        host_id=host.id,
        member_ids=(clients[2].id, clients[0].id),
        schedule=RoomSchedule(frozenset({0, 2, 4}), time(11, 30), time(12, 15)),
        capacity=8,
    )
    await rooms.add_room(room)
    assert await rooms.room(room.id) == room
    edited = MealRoom(
        id=room.id,
        name="Lunch together",
        kind=RoomKind.EXERCISE,
        host_id=host.id,
        member_ids=(clients[1].id,),
        schedule=None,
    )
    await rooms.update_room(edited)
    assert await rooms.room(room.id) == edited
    assert await rooms.list_rooms(host.id) == [edited]
    assert await rooms.list_rooms("someone-else") == []

    session = RoomSessionRecord(str(uuid.uuid4()), room.id, T0, host.id, T0)
    await rooms.session_opened(session)
    visit = Visit(session.id, clients[1].id, "client", T0 + timedelta(minutes=1))
    await rooms.visit_started(visit)
    left = Visit(
        visit.session_id,
        visit.subject_id,
        visit.role,
        visit.joined_at,
        T0 + timedelta(minutes=9),
        LeaveReason.LEFT,
    )
    await rooms.visit_ended(left)
    await rooms.visit_started(Visit(session.id, host.id, "host", T0))
    assert await rooms.visits([session.id]) == [Visit(session.id, host.id, "host", T0), left]

    # A crash leaves the meeting and the host's visit open: the next start closes both.
    assert await rooms.close_open_sessions(T0 + timedelta(hours=1)) == 1
    [stored] = await rooms.room_sessions(room.id)
    assert stored.end_reason is SessionEndReason.INTERRUPTED
    host_visit = (await rooms.visits([session.id]))[0]
    assert host_visit.left_reason is LeaveReason.ENDED
