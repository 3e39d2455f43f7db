"""Hosts' and admins' pages for meal and exercise rooms: the list, the room form, the console.

A host sees and runs the rooms they host; an admin sees all and picks any host. The live side
(who is at the table, mute, spotlight, ...) runs over the WebSocket (care_services.rooms); these
pages only manage the standing rooms and show their attendance.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import time
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from care_services.rooms import RoomService
from care_sessions.errors import InvalidInput, NotFound
from care_sessions.identity import Principal, Role
from care_sessions.meal_rooms import (
    DEFAULT_CAPACITY,
    MAX_CAPACITY,
    NAME_MAX,
    WEEKDAY_NAMES,
    WEEKDAYS,
    MealRoom,
    RoomKind,
    RoomSchedule,
    attendance,
)
from web import state
from web.forms import FormReader
from web.presenters import iso, short_time
from web.responses import render

KIND_NAMES = {RoomKind.MEAL: "Shared meal", RoomKind.EXERCISE: "Group exercise"}
ROOM_STAFF_ROLES = (Role.HOST, Role.ADMIN)
SESSIONS_SHOWN = 5
NOTICES = {"created": "Room created.", "saved": "Room saved."}


def _rooms(request: web.Request) -> RoomService:
    rooms = state.services(request).rooms
    if rooms is None:
        raise NotFound("Rooms are not enabled on this server.")
    return rooms


async def _visible_room(request: web.Request) -> MealRoom:
    """The room in the path, if this host or admin may run it (else 404, as for calls)."""
    return await _rooms(request).runnable(state.principal(request), request.match_info["room_id"])


# ---- the list and the forms ---------------------------------------------------------------


async def rooms_page(request: web.Request) -> web.StreamResponse:
    return await _rooms_page(request)


async def _rooms_page(
    request: web.Request,
    *,
    status: int = 200,
    errors: Mapping[str, Mapping[str, str]] | None = None,
    values: Mapping[str, Mapping[str, Any]] | None = None,
) -> web.Response:
    who = state.principal(request)
    service = _rooms(request)
    services = state.services(request)
    rooms = await service.rooms.list_rooms(None if who.role is Role.ADMIN else who.subject_id)
    clients = sorted(await services.store.list_clients(), key=lambda c: c.display_name)
    names = {c.id: c.display_name for c in clients}
    hosts = [s for s in await services.store.list_staff() if s.role in ROOM_STAFF_ROLES]
    host_names = {s.id: s.display_name for s in hosts}
    entries = []
    for room in rooms:
        live = service.live(room.id)
        coming = room.schedule.current_or_next(services.clock.now()) if room.schedule else None
        entries.append(
            {
                "room": room,
                "kind_text": KIND_NAMES[room.kind],
                "schedule_text": room.schedule.describe() if room.schedule else "No schedule",
                "host_name": host_names.get(room.host_id, ""),
                "members": [names.get(m, "") for m in room.member_ids],
                "live": live is not None,
                "seated": len(live.seats) if live else 0,
                "next_at": iso(coming.starts_at) if coming else None,
                "next_text": short_time(coming.starts_at) if coming else "",
                "attendance": await _attendance_table(service, room, names),
                "errors": (errors or {}).get(room.id, {}),
                "form": (values or {}).get(room.id) or _form_values(room),
            }
        )
    return render(
        request,
        "rooms.html",
        {
            "page": "rooms",
            "entries": entries,
            "clients": clients,
            "hosts": hosts,
            "kinds": KIND_NAMES,
            "weekday_names": list(enumerate(WEEKDAY_NAMES)),
            "capacity_max": MAX_CAPACITY,
            "name_max": NAME_MAX,
            "notice": NOTICES.get(request.query.get("notice", ""), ""),
            "create_errors": (errors or {}).get("new", {}),
            "create": (values or {}).get("new") or _blank_form(who),
        },
        status=status,
    )


def _blank_form(who: Principal) -> dict[str, Any]:
    return {
        "name": "",
        "kind": RoomKind.MEAL.value,
        "host_id": who.subject_id,
        "weekdays": sorted(WEEKDAYS),
        "start": "11:30",
        "end": "12:15",
        "capacity": DEFAULT_CAPACITY,
        "members": [],
        "scheduled": True,
    }


def _form_values(room: MealRoom) -> dict[str, Any]:
    schedule = room.schedule
    return {
        "name": room.name,
        "kind": room.kind.value,
        "host_id": room.host_id,
        "weekdays": sorted(schedule.weekdays) if schedule else [],
        "start": schedule.start.strftime("%H:%M") if schedule else "11:30",
        "end": schedule.end.strftime("%H:%M") if schedule else "12:15",
        "capacity": room.capacity,
        "members": list(room.member_ids),
        "scheduled": schedule is not None,
    }


async def _attendance_table(
    service: RoomService, room: MealRoom, names: Mapping[str, str]
) -> list[dict[str, Any]]:
    sessions = await service.rooms.room_sessions(room.id, SESSIONS_SHOWN)
    visits = await service.rooms.visits([s.id for s in sessions])
    table = []
    for session in sessions:
        rows = attendance(session, room.member_ids, visits)
        table.append(
            {
                "opened_at": iso(session.opened_at),
                "opened_text": short_time(session.opened_at),
                "came": [names.get(r.client_id, "?") for r in rows if r.attended],
                "absent": [names.get(r.client_id, "?") for r in rows if not r.attended],
                "open": session.ended_at is None,
            }
        )
    return table


def _parse_time(form: FormReader, name: str, label: str) -> time:
    raw = form.raw(name).strip()
    try:
        if len(raw) != 5:
            raise ValueError(raw)
        return time.fromisoformat(raw)
    except ValueError:
        form.errors[name] = f"{label} must be a time like 11:30."
        return time(0)


async def _room_from_form(
    request: web.Request, room_id: str, existing: MealRoom | None
) -> tuple[MealRoom | None, dict[str, str], dict[str, Any]]:
    """Read and check the room form; (room, {}, values) or (None, errors, values)."""
    who = state.principal(request)
    services = state.services(request)
    data: MultiDictProxy[Any] = await request.post()
    form = FormReader(data)
    name = form.text("name", "Name", max_len=NAME_MAX)
    kind = form.choice("kind", "Kind", RoomKind, RoomKind.MEAL)
    capacity = form.integer(
        "capacity", "Capacity", low=1, high=MAX_CAPACITY, default=DEFAULT_CAPACITY
    )
    scheduled = form.checkbox("scheduled", "Scheduled")
    weekdays = frozenset(
        int(v) for v in data.getall("weekday", []) if isinstance(v, str) and v in "0123456"
    )
    start = _parse_time(form, "start", "Start")
    end = _parse_time(form, "end", "End")
    members = [v for v in data.getall("member", []) if isinstance(v, str)]
    known_clients = {c.id for c in await services.store.list_clients()}
    if not set(members) <= known_clients:
        form.errors["member"] = "Choose members from the list."
    host_id = who.subject_id
    if who.role is Role.ADMIN:
        host_id = form.raw("host_id") or who.subject_id
        host = await services.store.staff_by_id(host_id)
        if host is None or host.role not in ROOM_STAFF_ROLES:
            form.errors["host_id"] = "Choose a host from the list."
    elif existing is not None:
        host_id = existing.host_id  # a host cannot hand their room to someone else
    values = {
        "name": name,
        "kind": kind.value,
        "host_id": host_id,
        "weekdays": sorted(weekdays),
        "start": form.raw("start")[:5],
        "end": form.raw("end")[:5],
        "capacity": capacity,
        "members": members,
        "scheduled": scheduled,
    }
    if form.errors:
        return None, form.errors, values
    room = MealRoom(
        id=room_id,
        name=name,
        kind=kind,
        host_id=host_id,
        member_ids=tuple(dict.fromkeys(members)),
        schedule=RoomSchedule(weekdays=weekdays, start=start, end=end) if scheduled else None,
        capacity=capacity,
    )
    try:
        room.validate()
    except InvalidInput as exc:
        return None, {"room": str(exc)}, values
    return room, {}, values


async def room_create(request: web.Request) -> web.StreamResponse:
    room, errors, values = await _room_from_form(request, str(uuid.uuid4()), None)
    if room is None:
        return await _rooms_page(
            request, status=400, errors={"new": errors}, values={"new": values}
        )
    await _rooms(request).save_room(room, new=True)
    raise web.HTTPSeeOther(f"/rooms?notice=created#room-{room.id}")


async def room_update(request: web.Request) -> web.StreamResponse:
    existing = await _visible_room(request)
    room, errors, values = await _room_from_form(request, existing.id, existing)
    if room is None:
        return await _rooms_page(
            request, status=400, errors={existing.id: errors}, values={existing.id: values}
        )
    await _rooms(request).save_room(room, new=False)
    raise web.HTTPSeeOther(f"/rooms?notice=saved#room-{room.id}")


# ---- the console and the reports' feed ---------------------------------------------------


async def console_page(request: web.Request) -> web.StreamResponse:
    room = await _visible_room(request)
    return render(
        request,
        "host_console.html",
        {"page": "rooms", "room": room, "kind_text": KIND_NAMES[room.kind]},
    )


async def api_attendance(request: web.Request) -> web.StreamResponse:
    """Attendance of a room's recent meetings, every member listed (absent ones too)."""
    service = _rooms(request)
    who = state.principal(request)
    room = await service.rooms.room(request.match_info["room_id"])
    # Nurses read attendance for their reports; hosts only of their own rooms.
    if room is None or (who.role is Role.HOST and room.host_id != who.subject_id):
        raise NotFound("There is no such room.")
    sessions = await service.rooms.room_sessions(room.id, 50)
    visits = await service.rooms.visits([s.id for s in sessions])
    return web.json_response(
        [
            {
                "session_id": session.id,
                "opened_at": iso(session.opened_at),
                "scheduled_start": iso(session.scheduled_start),
                "ended_at": iso(session.ended_at),
                "end_reason": session.end_reason.value if session.end_reason else None,
                "members": [
                    {
                        "client_id": row.client_id,
                        "attended": row.attended,
                        "first_joined_at": iso(row.first_joined_at),
                        "minutes": row.minutes,
                        "visits": row.visits,
                        "removed": row.removed,
                    }
                    for row in attendance(session, room.member_ids, visits)
                ],
            }
            for session in sessions
        ]
    )
