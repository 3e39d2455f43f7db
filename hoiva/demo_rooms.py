"""The demo's rooms: a weekday lunch and a chair-exercise class, run by the demo host "hannu"."""

from __future__ import annotations

import uuid
from datetime import time

from care_sessions.meal_rooms import WEEKDAYS, MealRoom, RoomKind, RoomSchedule
from hoiva.services import Services

LUNCH_NAME = "Lunch with the Kallio group"
EXERCISE_NAME = "Chair exercise"


async def seed_demo_rooms(services: Services) -> None:
    """Idempotent: rooms the demo host already has are left as they are."""
    rooms = services.signaling.rooms
    host = await services.store.staff_by_username("hannu")
    if rooms is None or host is None:
        return
    existing = {room.name for room in await rooms.rooms.list_rooms(host.id)}
    clients = [c.id for c in await services.store.list_clients()]
    wanted = [
        MealRoom(
            id=str(uuid.uuid4()),
            name=LUNCH_NAME,
            kind=RoomKind.MEAL,
            host_id=host.id,
            member_ids=tuple(clients[:5]),
            schedule=RoomSchedule(weekdays=WEEKDAYS, start=time(11, 30), end=time(12, 15)),
        ),
        MealRoom(
            id=str(uuid.uuid4()),
            name=EXERCISE_NAME,
            kind=RoomKind.EXERCISE,
            host_id=host.id,
            member_ids=tuple(clients[1:5]),
            schedule=RoomSchedule(weekdays=frozenset({1, 3}), start=time(10), end=time(10, 30)),
        ),
    ]
    for room in wanted:
        if room.name not in existing:
            await rooms.save_room(room, new=True)
