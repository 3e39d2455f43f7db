"""The rooms' clockwork: open scheduled meetings, rate the quality dots, let go of people who
vanished, and close empty rooms after their end time. Runs once a second on the injected
clock; tests call `tick()` directly after moving a fake clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from care_services.rooms import RoomService
from care_sessions.meal_rooms import LeaveReason, MealRoom, RoomPlanner, SessionEndReason
from care_sessions.room_sessions import LiveSession, Quality, rate_quality

log = logging.getLogger(__name__)

TICK_S = 1.0
QUALITY_EVERY_S = 2.0
# Rooms change rarely (a host edits one); re-read them now and then in case another
# instance changed them, and at once when this one did (`rooms_changed`).
ROOMS_REFRESH_S = 300.0
# A new participant's rates are not meaningful before its first seconds of media.
SETTLE_TIME = timedelta(seconds=5)


@dataclass
class _Absence:
    """A seated subject whose signaling socket is gone, and the last sign of its media."""

    since: float
    packets: int
    last_packet_at: float


class RoomUpkeep:
    """The periodic side of RoomService."""

    def __init__(self, service: RoomService) -> None:
        self._service = service
        self._planner = RoomPlanner(service.clock)
        self._rooms: list[MealRoom] | None = None
        self._rooms_read_at = 0.0
        self._version_read = -1
        self._last_quality = float("-inf")
        self._absent: dict[tuple[str, str], _Absence] = {}  # by (session id, subject id)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Close what a crash left open, then tick in the background."""
        service = self._service
        closed = await service.rooms.close_open_sessions(service.clock.now())
        if closed:
            log.warning("%d room sessions left open by a previous run marked interrupted", closed)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        """Stop ticking; open rooms end as interrupted."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        service = self._service
        async with service.lock:
            for live in list(service.live_by_room.values()):
                await service.end_session(live, None, SessionEndReason.INTERRUPTED)
        await service.cancel_tasks()

    def rooms_changed(self) -> None:
        self._rooms = None

    async def tick(self) -> None:
        service = self._service
        rooms = await self._catalogue()
        now = service.clock.now()
        async with service.lock:
            for room, occurrence in self._planner.due(rooms):
                key = (room.id, occurrence.starts_at)
                if room.id not in service.live_by_room and key not in service.opened_for:
                    await service.open_session(room, None, occurrence)
            for live in list(service.live_by_room.values()):
                await self._drop_vanished(live)
                if not live.seats and live.past_end(now):
                    await service.end_session(live, None, SessionEndReason.EMPTY)
            live_ids = {live.id for live in service.live_by_room.values()}
            for gone in [absent for absent in self._absent if absent[0] not in live_ids]:
                del self._absent[gone]
        monotonic = service.clock.monotonic()
        if monotonic - self._last_quality >= QUALITY_EVERY_S:
            self._last_quality = monotonic
            for live in list(service.live_by_room.values()):
                if self._rate(live):
                    await service.broadcast(live)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
            except Exception:
                # One bad room must not stop the schedule for every other room.
                log.exception("room upkeep failed")

    async def _catalogue(self) -> list[MealRoom]:
        service = self._service
        monotonic = service.clock.monotonic()
        if (
            self._rooms is None
            or monotonic - self._rooms_read_at > ROOMS_REFRESH_S
            or self._version_read != service.catalogue_version
        ):
            self._version_read = service.catalogue_version
            self._rooms = await service.rooms.list_rooms()
            self._rooms_read_at = monotonic
        return self._rooms

    async def _drop_vanished(self, live: LiveSession) -> None:
        """Seated, but the socket is gone for longer than the grace and media is not flowing.

        A tablet that lost power sends no DTLS close and ICE consent takes half a minute to
        fail, so "not flowing" also means: no packet from it for the grace period."""
        service = self._service
        monotonic = service.clock.monotonic()
        media_room = service.media_room(live)
        stats = media_room.publisher_stats() if media_room is not None else {}
        for subject_id in list(live.seats):
            key = (live.id, subject_id)
            if service.hub.is_connected(subject_id):
                self._absent.pop(key, None)
                continue
            media = stats.get(subject_id)
            packets = media.packets_received if media is not None else 0
            absence = self._absent.setdefault(key, _Absence(monotonic, packets, monotonic))
            if packets != absence.packets:
                absence.packets, absence.last_packet_at = packets, monotonic
            grace = service.drop_grace_s
            flowing = (
                media is not None and media.connected and monotonic - absence.last_packet_at < grace
            )
            if monotonic - absence.since >= grace and not flowing:
                self._absent.pop(key, None)
                await service.unseat(live, subject_id, LeaveReason.DROPPED)

    def _rate(self, live: LiveSession) -> bool:
        """Update every seat's quality dot; True if any changed."""
        media_room = self._service.media_room(live)
        if media_room is None:
            return False
        stats = media_room.publisher_stats()
        now = self._service.clock.now()
        changed = False
        for seat in live.seats.values():
            media = stats.get(seat.subject_id)
            if media is None:
                continue
            settled = now - seat.visit.joined_at >= SETTLE_TIME
            quality = rate_quality(
                connected=media.connected,
                was_connected=seat.quality is not Quality.CONNECTING,
                loss=media.loss,
                video_bps=media.video_bps if settled else float("inf"),
            )
            if quality is not seat.quality:
                seat.quality = quality
                changed = True
        return changed
