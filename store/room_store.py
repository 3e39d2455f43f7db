"""Meal and exercise rooms, their meetings and attendance on SQLAlchemy Core (migration 0010)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.meal_rooms import (
    LeaveReason,
    MealRoom,
    RoomKind,
    RoomSchedule,
    RoomSessionRecord,
    SessionEndReason,
    Visit,
)
from store.tables import ID, UtcDateTime, metadata

meal_room = sa.Table(
    "meal_room",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("host_id", ID, sa.ForeignKey("staff_user.id"), nullable=False, index=True),
    sa.Column("capacity", sa.Integer, nullable=False),
    # "1111100" is Monday to Friday; NULL weekdays: no schedule (opened by hand only).
    sa.Column("weekdays", sa.String(7), nullable=True),
    sa.Column("start_time", sa.String(5), nullable=True),
    sa.Column("end_time", sa.String(5), nullable=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

meal_room_member = sa.Table(
    "meal_room_member",
    metadata,
    sa.Column("room_id", ID, sa.ForeignKey("meal_room.id"), primary_key=True),
    sa.Column("client_id", ID, sa.ForeignKey("client.id"), primary_key=True, index=True),
    sa.Column("position", sa.Integer, nullable=False),
)

room_session = sa.Table(
    "room_session",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("room_id", ID, sa.ForeignKey("meal_room.id"), nullable=False),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("opened_by", ID, nullable=True),
    sa.Column("scheduled_start", UtcDateTime, nullable=True),
    sa.Column("ended_at", UtcDateTime, nullable=True),
    sa.Column("ended_by", ID, nullable=True),
    sa.Column("end_reason", sa.String(16), nullable=True),
    sa.Index("ix_room_session_room_opened", "room_id", "opened_at"),
)

room_visit = sa.Table(
    "room_visit",
    metadata,
    sa.Column("session_id", ID, sa.ForeignKey("room_session.id"), primary_key=True),
    sa.Column("subject_id", ID, primary_key=True),
    sa.Column("joined_at", UtcDateTime, primary_key=True),
    sa.Column("role", sa.String(8), nullable=False),
    sa.Column("left_at", UtcDateTime, nullable=True),
    sa.Column("left_reason", sa.String(16), nullable=True),
)


def _mask(weekdays: frozenset[int]) -> str:
    return "".join("1" if day in weekdays else "0" for day in range(7))


def _wall(value: time) -> str:
    return value.strftime("%H:%M")


class SqlRoomStore:
    """Implements care_sessions.meal_rooms.RoomStore."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # ---- rooms ---------------------------------------------------------------------------

    async def add_room(self, room: MealRoom) -> None:
        room.validate()
        async with self._engine.begin() as conn:
            await conn.execute(
                meal_room.insert().values(
                    id=room.id, created_at=sa.func.now(), **_room_values(room)
                )
            )
            await _write_members(conn, room)

    async def update_room(self, room: MealRoom) -> None:
        room.validate()
        async with self._engine.begin() as conn:
            await conn.execute(
                meal_room.update().where(meal_room.c.id == room.id).values(**_room_values(room))
            )
            await conn.execute(
                meal_room_member.delete().where(meal_room_member.c.room_id == room.id)
            )
            await _write_members(conn, room)

    async def room(self, room_id: str) -> MealRoom | None:
        rooms = await self._rooms(meal_room.c.id == room_id)
        return rooms[0] if rooms else None

    async def list_rooms(self, host_id: str | None = None) -> list[MealRoom]:
        where: sa.ColumnElement[bool] = meal_room.c.active.is_(True)
        if host_id is not None:
            where = sa.and_(where, meal_room.c.host_id == host_id)
        return await self._rooms(where)

    async def _rooms(self, where: Any) -> list[MealRoom]:
        async with self._engine.connect() as conn:
            rows = list(
                await conn.execute(meal_room.select().where(where).order_by(meal_room.c.name))
            )
            ids = [row.id for row in rows]
            members: dict[str, list[str]] = {}
            if ids:
                query = (
                    meal_room_member.select()
                    .where(meal_room_member.c.room_id.in_(ids))
                    .order_by(meal_room_member.c.position)
                )
                for member in await conn.execute(query):
                    members.setdefault(member.room_id, []).append(member.client_id)
        return [_room(row, members.get(row.id, [])) for row in rows]

    # ---- sessions and visits -------------------------------------------------------------

    async def session_opened(self, record: RoomSessionRecord) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(room_session.insert().values(**_session_values(record)))

    async def session_closed(self, record: RoomSessionRecord) -> None:
        values = _session_values(record)
        del values["id"]
        async with self._engine.begin() as conn:
            await conn.execute(
                room_session.update().where(room_session.c.id == record.id).values(**values)
            )

    async def room_sessions(self, room_id: str, limit: int = 20) -> list[RoomSessionRecord]:
        query = (
            room_session.select()
            .where(room_session.c.room_id == room_id)
            .order_by(room_session.c.opened_at.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_session(row) for row in await conn.execute(query)]

    async def visit_started(self, visit: Visit) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                room_visit.insert().values(
                    session_id=visit.session_id,
                    subject_id=visit.subject_id,
                    joined_at=visit.joined_at,
                    role=visit.role,
                )
            )

    async def visit_ended(self, visit: Visit) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                room_visit.update()
                .where(
                    room_visit.c.session_id == visit.session_id,
                    room_visit.c.subject_id == visit.subject_id,
                    room_visit.c.joined_at == visit.joined_at,
                )
                .values(
                    left_at=visit.left_at,
                    left_reason=visit.left_reason.value if visit.left_reason else None,
                )
            )

    async def visits(self, session_ids: Sequence[str]) -> list[Visit]:
        if not session_ids:
            return []
        query = (
            room_visit.select()
            .where(room_visit.c.session_id.in_(list(session_ids)))
            .order_by(room_visit.c.joined_at)
        )
        async with self._engine.connect() as conn:
            return [_visit(row) for row in await conn.execute(query)]

    async def close_open_sessions(self, at: datetime) -> int:
        async with self._engine.begin() as conn:
            await conn.execute(
                room_visit.update()
                .where(room_visit.c.left_at.is_(None))
                .values(left_at=at, left_reason=LeaveReason.ENDED.value)
            )
            result = await conn.execute(
                room_session.update()
                .where(room_session.c.ended_at.is_(None))
                .values(ended_at=at, end_reason=SessionEndReason.INTERRUPTED.value)
            )
        return int(result.rowcount or 0)


async def _write_members(conn: Any, room: MealRoom) -> None:
    if room.member_ids:
        await conn.execute(
            meal_room_member.insert(),
            [
                {"room_id": room.id, "client_id": client_id, "position": position}
                for position, client_id in enumerate(room.member_ids)
            ],
        )


def _room_values(room: MealRoom) -> dict[str, Any]:
    schedule = room.schedule
    return {
        "name": room.name,
        "kind": room.kind.value,
        "host_id": room.host_id,
        "capacity": room.capacity,
        "weekdays": _mask(schedule.weekdays) if schedule else None,
        "start_time": _wall(schedule.start) if schedule else None,
        "end_time": _wall(schedule.end) if schedule else None,
        "timezone": schedule.timezone if schedule else "Europe/Helsinki",
        "active": room.active,
    }


def _room(row: Any, members: list[str]) -> MealRoom:
    schedule = None
    if row.weekdays and row.start_time and row.end_time:
        schedule = RoomSchedule(
            weekdays=frozenset(day for day, flag in enumerate(row.weekdays) if flag == "1"),
            start=time.fromisoformat(row.start_time),
            end=time.fromisoformat(row.end_time),
            timezone=row.timezone,
        )
    return MealRoom(
        id=row.id,
        name=row.name,
        kind=RoomKind(row.kind),
        host_id=row.host_id,
        member_ids=tuple(members),
        schedule=schedule,
        capacity=row.capacity,
        active=bool(row.active),
    )


def _session_values(record: RoomSessionRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "room_id": record.room_id,
        "opened_at": record.opened_at,
        "opened_by": record.opened_by,
        "scheduled_start": record.scheduled_start,
        "ended_at": record.ended_at,
        "ended_by": record.ended_by,
        "end_reason": record.end_reason.value if record.end_reason else None,
    }


def _session(row: Any) -> RoomSessionRecord:
    return RoomSessionRecord(
        id=row.id,
        room_id=row.room_id,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        scheduled_start=row.scheduled_start,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
        end_reason=SessionEndReason(row.end_reason) if row.end_reason else None,
    )


def _visit(row: Any) -> Visit:
    return Visit(
        session_id=row.session_id,
        subject_id=row.subject_id,
        role=row.role,
        joined_at=row.joined_at,
        left_at=row.left_at,
        left_reason=LeaveReason(row.left_reason) if row.left_reason else None,
    )
