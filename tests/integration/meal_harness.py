"""A meal table for integration tests: a headless host, headless tablets, a room between them.

Every participant sends the synthetic pattern with its own source id, so whoever receives a
frame knows whose camera it came from and in which order it was sent.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time as wall_time

from care_services.rooms import RoomService
from care_sessions.identity import Client, Role
from care_sessions.meal_rooms import MealRoom, RoomKind, RoomSchedule
from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_host import HeadlessHost
from tablet_client.meal_client import RoomSeat
from tests.conftest import RunningServer

HOST_PASSWORD = "host-test-password"
HOST_SOURCE = 100
# Modest frames so that seven peers in one process keep up on two cores.
WIDTH, HEIGHT, FPS = 320, 240, 15


def synthetic(source_id: int) -> Callable[[], SyntheticVideoTrack]:
    return lambda: SyntheticVideoTrack(source_id, fps=FPS, width=WIDTH, height=HEIGHT)


def rooms_of(server: RunningServer) -> RoomService:
    rooms = server.services.signaling.rooms
    assert rooms is not None
    return rooms


@dataclass
class Diner:
    client: Client
    tablet: HeadlessTablet
    source_id: int

    @property
    def seat(self) -> RoomSeat:
        return self.tablet.meal

    @property
    def peer(self) -> ClientPeer:
        assert self.seat.peer is not None, f"{self.client.first_name} has no room media"
        return self.seat.peer


@dataclass
class MealTable:
    server: RunningServer
    host: HeadlessHost
    room: MealRoom
    diners: list[Diner] = field(default_factory=list)

    @classmethod
    async def lay(
        cls,
        server: RunningServer,
        homes: int,
        *,
        kind: RoomKind = RoomKind.MEAL,
        capacity: int = 12,
        schedule: RoomSchedule | None = None,
        members: int | None = None,
        audio: bool = True,
        audio_homes: int | None = None,
    ) -> MealTable:
        """A host and `homes` member tablets (connected, not yet seated), and their room.

        `audio_homes`: only the first so many homes send audio (every receiver decodes every
        audio stream it gets; a whole table's worth is too much for one 2-core process).
        """
        host_user = await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
        clients = [await server.add_client(f"Diner{i}") for i in range(members or homes)]
        room = MealRoom(
            id=str(uuid.uuid4()),
            name="Lunch with the Kallio group",
            kind=kind,
            host_id=host_user.id,
            member_ids=tuple(c.id for c in clients),
            schedule=schedule,
            capacity=capacity,
        )
        await rooms_of(server).rooms.add_room(room)
        host = HeadlessHost(
            server.url,
            "hannu",
            HOST_PASSWORD,
            source_id=HOST_SOURCE,
            video_factory=synthetic(HOST_SOURCE),
            audio=audio,
        )
        await host.start()
        table = cls(server, host, room)
        for index, client in enumerate(clients[:homes]):
            sends_audio = audio and (audio_homes is None or index < audio_homes)
            await table.add_diner(client, index + 1, audio=sends_audio)
        return table

    async def add_diner(
        self,
        client: Client,
        source_id: int,
        *,
        join_rooms: bool | None = True,
        audio: bool = True,
    ) -> Diner:
        tablet = HeadlessTablet(
            self.server.url,
            await self.server.enrol_tablet(client),
            video_factory=synthetic(source_id),
            join_rooms=join_rooms,
            room_audio=audio,
        )
        await tablet.start()
        diner = Diner(client, tablet, source_id)
        self.diners.append(diner)
        return diner

    def peers(self) -> list[ClientPeer]:
        assert self.host.meal.peer is not None
        return [self.host.meal.peer, *(d.peer for d in self.diners)]

    def sources(self) -> dict[int, str]:
        """source id -> subject id of everyone at the table."""
        found = {d.source_id: d.client.id for d in self.diners}
        found[HOST_SOURCE] = self.room.host_id
        return found

    async def seat_everyone(self, timeout: float = 30) -> None:
        """Host joins (opening the room); the tablets join by themselves; media flows."""
        await self.host.join_room(self.room.id)
        await wait_until(
            lambda: (
                all(d.seat.peer is not None for d in self.diners)
                and self.host.meal.peer is not None
            ),
            timeout,
            "everyone seated with a peer",
        )
        others = len(self.diners)
        await asyncio.gather(
            *(peer.wait_for_video_frames(3, timeout, tracks=others) for peer in self.peers())
        )

    async def close(self) -> None:
        await asyncio.gather(
            self.host.stop(), *(d.tablet.stop() for d in self.diners), return_exceptions=True
        )


async def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def frames_by_source(peer: ClientPeer) -> dict[int, list[int]]:
    """Counters decoded from each source, in arrival order, over all of the peer's tracks."""
    found: dict[int, list[int]] = {}
    for marks in peer.stats.marks.values():
        for source, counter in marks:
            found.setdefault(source, []).append(counter)
    return found


def audio_from(seat: RoomSeat, peer: ClientPeer, publisher_id: str) -> int:
    """Audio frames this peer decoded on the transceivers carrying `publisher_id`."""
    return sum(
        count
        for mid, count in peer.stats.audio_by_mid.items()
        if seat.log.publisher_of(mid) == publisher_id
    )


def lunch_schedule() -> RoomSchedule:
    return RoomSchedule(
        weekdays=frozenset(range(7)), start=wall_time(11, 30), end=wall_time(12, 15)
    )
