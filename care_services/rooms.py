"""Meal and exercise rooms live: opening, seating, the host's controls, and the room's media.

The rules live in care_sessions (meal_rooms, room_sessions); this service applies them to a
media room and tells people what changed. The upkeep (schedule, quality dots, drop-outs,
closing empty rooms) is in room_upkeep.py.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar, assert_never

from care_services.calls import CallService, InvalidSdpError
from care_services.media_events import MediaEvent
from care_services.media_ports import MediaGateway, MediaRoomPort
from care_services.ports import Notifier
from care_services.presence import CallFlag
from care_services.room_views import MediaMap, starting_message, state_message
from care_sessions.clock import Clock
from care_sessions.errors import InvalidState, NotFound
from care_sessions.identity import Principal, Role
from care_sessions.meal_rooms import (
    LeaveReason,
    MealRoom,
    Occurrence,
    RoomStore,
    SessionEndReason,
)
from care_sessions.ports import CareStore
from care_sessions.room_sessions import LiveSession, Quality, SeatRole
from protocol.messages import (
    MediaAnswer,
    MediaOffer,
    MediaPublishHint,
    RoomEnded,
    RoomLeft,
    ServerMessage,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

# Opening a room by hand counts towards its coming meeting when that starts within this long
# ("the host can open the room early"): it then lasts until the meeting's end.
EARLY_OPEN_WINDOW = timedelta(hours=2)


class _RoomMediaSignal:
    """What one session's media room tells the service: offers to relay and media events."""

    def __init__(self, service: RoomService, session_id: str) -> None:
        self._service = service
        self._session_id = session_id

    async def send_offer(self, participant_id: str, sdp: str) -> None:
        await self._service.hub.send_to(
            participant_id, MediaOffer(call_id=self._session_id, sdp=sdp)
        )

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        await self._service.on_media_event(self._session_id, participant_id, event)


class RoomService:
    """Owns every live room of this instance; the only writer of room sessions and visits."""

    def __init__(
        self,
        *,
        rooms: RoomStore,
        store: CareStore,
        clock: Clock,
        hub: Notifier,
        media: MediaGateway,
        calls: CallService,
        drop_grace_s: float,
    ) -> None:
        self.rooms = rooms
        self.hub = hub
        self.clock = clock
        self.drop_grace_s = drop_grace_s
        self._store = store
        self._media = media
        self._calls = calls
        self.live_by_room: dict[str, LiveSession] = {}
        self._room_of_session: dict[str, str] = {}
        self._seated: dict[str, str] = {}  # subject id -> room id
        self._maps: dict[tuple[str, str], MediaMap] = {}  # (session id, subject id)
        # Scheduled meetings already opened once: a meal the host ended early stays ended.
        self.opened_for: set[tuple[str, datetime]] = set()
        # Commands change shared state across awaits (store writes); one at a time.
        self.lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        # Display names of member clients, read once per session instead of once per join.
        self._names: dict[str, str] = {}
        # Attendance is written behind the conversation, in order: a late joiner's media
        # must not wait on the database (docs/media.md, "late joiners").
        self._writes: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        # Bumped when this instance changes a room; the upkeep re-reads the rooms then.
        self.catalogue_version = 0

    # ---- queries -------------------------------------------------------------------------

    def live(self, room_id: str) -> LiveSession | None:
        return self.live_by_room.get(room_id)

    def handles(self, session_id: str) -> bool:
        """Is this media call id one of our sessions? (media.offer/answer routing)."""
        return session_id in self._room_of_session

    def seated_in(self, subject_id: str) -> LiveSession | None:
        room_id = self._seated.get(subject_id)
        return self.live_by_room.get(room_id) if room_id else None

    def media_room(self, live: LiveSession) -> MediaRoomPort | None:
        return self._media.room(live.id)

    @staticmethod
    def may_run(who: Principal, room: MealRoom) -> bool:
        return who.role is Role.ADMIN or (who.role is Role.HOST and room.host_id == who.subject_id)

    async def runnable(self, who: Principal, room_id: str) -> MealRoom:
        """The room if `who` may run it; anyone else gets not_found, as for calls."""
        room = await self.rooms.room(room_id)
        if room is None or not room.active or not self.may_run(who, room):
            raise NotFound(f"no room {room_id}")
        return room

    async def save_room(self, room: MealRoom, *, new: bool) -> None:
        """Store a created or edited room; a meeting under way takes the new members,
        name and capacity at once (someone already seated keeps their seat)."""
        if new:
            await self.rooms.add_room(room)
        else:
            await self.rooms.update_room(room)
        self.catalogue_version += 1
        live = self.live_by_room.get(room.id)
        if live is not None:
            live.room = room

    # ---- messages from tablets and hosts ----------------------------------------------------

    async def sync(self, who: Principal) -> None:
        """After a (re)connect: the open rooms this socket should know about."""
        for live in list(self.live_by_room.values()):
            if who.role is Role.TABLET:
                if not live.room.is_member(who.subject_id) or who.subject_id in live.removed:
                    continue
                if who.subject_id in live.seats:
                    await self._send_state_and_map(live, who.subject_id)
                else:
                    auto = await self._auto_join_after(live, who.subject_id)
                    await self.hub.send_to(who.subject_id, starting_message(live, auto))
            elif self.may_run(who, live.room):
                await self.hub.send_to(who.subject_id, starting_message(live, None))

    async def open(self, who: Principal, room_id: str) -> LiveSession:
        async with self.lock:
            room = await self.runnable(who, room_id)
            live = self.live_by_room.get(room.id) or await self.open_session(room, who.subject_id)
        await self.hub.send_to(who.subject_id, state_message(live))
        return live

    async def join(self, who: Principal, room_id: str) -> LiveSession:
        async with self.lock:
            live = self.live_by_room.get(room_id)
            if who.role is Role.TABLET:
                room = live.room if live else await self.rooms.room(room_id)
                if room is None or not room.is_member(who.subject_id):
                    raise NotFound(f"no room {room_id}")
                if live is None:
                    raise InvalidState("the room is not open yet")
                name = self._names.get(who.subject_id) or who.display_name
                role = SeatRole.CLIENT
                if self._calls.call_of(who.subject_id) is not None:
                    raise InvalidState("end the call before joining a room")
            else:
                room = await self.runnable(who, room_id)
                live = live or await self.open_session(room, who.subject_id)
                name, role = who.display_name, SeatRole.HOST
            elsewhere = self._seated.get(who.subject_id)
            if elsewhere is not None and elsewhere != room.id:
                raise InvalidState("you are in another room; leave it first")
            seat, new = live.sit(who.subject_id, name, role, self.clock.now())
            if new:
                self.record(self.rooms.visit_started, seat.visit)
                self._seated[who.subject_id] = room.id
                await self._seat_changed(who.subject_id, role)
                self._apply_priorities(live)
        await self.broadcast(live)
        return live

    async def leave(self, who: Principal, room_id: str) -> None:
        async with self.lock:
            live = self.live_by_room.get(room_id)
            if live is None or who.subject_id not in live.seats:
                raise NotFound("you are not in that room")
            await self.unseat(live, who.subject_id, LeaveReason.LEFT)

    async def media_offer(
        self, who: Principal, session_id: str, sdp: str, ref: str | None = None
    ) -> None:
        """Connect a seated participant's peer connection to the session's media room."""
        live, media_room = self._seated_media(who, session_id)
        try:
            answer = await media_room.connect(who.subject_id, sdp)
        except self._media.error_type as exc:
            raise InvalidSdpError(str(exc)) from exc
        seat = live.seats.get(who.subject_id)
        if seat is not None and seat.muted:
            media_room.set_audio_forwarding(who.subject_id, False)
        self._apply_priorities(live)
        await self.hub.send_to(who.subject_id, MediaAnswer(ref=ref, call_id=session_id, sdp=answer))

    async def media_answer(self, who: Principal, session_id: str, sdp: str) -> None:
        _, media_room = self._seated_media(who, session_id)
        try:
            await media_room.accept_answer(who.subject_id, sdp)
        except self._media.error_type as exc:
            raise InvalidSdpError(str(exc)) from exc

    # ---- the host's controls ---------------------------------------------------------------

    async def mute(self, who: Principal, room_id: str, subject_id: str, muted: bool) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            if live.set_muted(subject_id, muted):
                self._forward_audio(live, subject_id, not muted)
        await self.broadcast(live)

    async def mute_all(self, who: Principal, room_id: str, muted: bool) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            for subject_id in live.set_all_muted(muted):
                self._forward_audio(live, subject_id, not muted)
        await self.broadcast(live)

    async def spotlight(self, who: Principal, room_id: str, subject_id: str | None) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            live.set_spotlight(subject_id)
            self._apply_priorities(live)
        await self.broadcast(live)

    async def remove(self, who: Principal, room_id: str, subject_id: str) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            if live.seat_of(subject_id).role is SeatRole.HOST:
                raise InvalidState("the host cannot be removed")
            await self.unseat(live, subject_id, LeaveReason.REMOVED)

    async def lock_room(self, who: Principal, room_id: str, locked: bool) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            live.locked = locked
        await self.broadcast(live)

    async def side_call(self, who: Principal, room_id: str, subject_id: str | None) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            if subject_id is None:
                live.end_side_call()
            else:
                if who.subject_id not in live.seats:
                    raise InvalidState("join the room before taking someone aside")
                live.start_side_call(subject_id)
            await self._regroup(live)
        await self.broadcast(live)

    async def end(self, who: Principal, room_id: str) -> None:
        async with self.lock:
            live = await self._hosted(who, room_id)
            await self.end_session(live, who.subject_id, SessionEndReason.ENDED_BY_HOST)

    # ---- media events ----------------------------------------------------------------------

    async def on_media_event(self, session_id: str, subject_id: str, event: MediaEvent) -> None:
        """Called from the media room's event pump: never wait on the service lock here."""
        room_id = self._room_of_session.get(session_id)
        live = self.live_by_room.get(room_id) if room_id else None
        if live is None or subject_id not in live.seats:
            return
        seat = live.seats[subject_id]
        media_map = self._maps.setdefault((session_id, subject_id), MediaMap())
        if event["event"] == "connected":
            if seat.quality is Quality.CONNECTING:
                seat.quality = Quality.GOOD
                await self.broadcast(live)
        elif event["event"] == "closed":
            if event["reason"] in ("remote_closed", "failed"):
                self.spawn(self._media_lost(session_id, subject_id))
        elif event["event"] == "track_added":
            media_map.added(event["mid"], event["kind"], event["publisher_id"])
            await self.hub.send_to(subject_id, media_map.message(live))
        elif event["event"] == "track_removed":
            media_map.removed(event["mid"])
            await self.hub.send_to(subject_id, media_map.message(live))
        elif event["event"] == "video_paused" or event["event"] == "video_resumed":
            paused = event["event"] == "video_paused"
            if media_map.set_paused(event["publisher_id"], paused):
                await self.hub.send_to(subject_id, media_map.message(live))
        elif event["event"] == "publish_hint":
            await self.hub.send_to(
                subject_id,
                MediaPublishHint(
                    call_id=session_id,
                    max_bitrate=event["max_bitrate"],
                    max_fps=event["max_fps"],
                    scale_down=event["scale_down"],
                ),
            )
        elif event["event"] == "failed" or event["event"] == "renegotiation_failed":
            pass  # "closed" follows a failure; media logs a failed renegotiation itself
        else:
            assert_never(event)

    async def _media_lost(self, session_id: str, subject_id: str) -> None:
        """The participant's media connection died (closed by the peer, or failed)."""
        async with self.lock:
            live = self.live_by_room.get(self._room_of_session.get(session_id, ""))
            if live is None or live.id != session_id or subject_id not in live.seats:
                return
            media_room = self.media_room(live)
            if media_room is not None and subject_id in media_room.participants:
                return  # it connected again meanwhile (a new offer replaced the old peer)
            await self.unseat(live, subject_id, LeaveReason.DROPPED)

    # ---- shared steps (lock held) ----------------------------------------------------------

    async def open_session(
        self, room: MealRoom, opened_by: str | None, occurrence: Occurrence | None = None
    ) -> LiveSession:
        now = self.clock.now()
        if occurrence is None and room.schedule is not None:
            coming = room.schedule.current_or_next(now)
            if coming is not None and coming.starts_at - now <= EARLY_OPEN_WINDOW:
                occurrence = coming
        host = await self._store.staff_by_id(room.host_id)
        members = set(room.member_ids)
        self._names.update(
            {c.id: c.display_name for c in await self._store.list_clients() if c.id in members}
        )
        live = LiveSession.open(
            session_id=str(uuid.uuid4()),
            room=room,
            host_name=host.display_name if host else "",
            at=now,
            opened_by=opened_by,
            occurrence=occurrence,
        )
        await self.rooms.session_opened(live.record)
        self.live_by_room[room.id] = live
        self._room_of_session[live.id] = room.id
        if occurrence is not None:
            self.opened_for.add((room.id, occurrence.starts_at))
        media_room = self._media.open_room(live.id, _RoomMediaSignal(self, live.id))
        media_room.use_group_budget()
        await self._announce(live)
        return live

    async def unseat(self, live: LiveSession, subject_id: str, reason: LeaveReason) -> None:
        role = live.seats[subject_id].role
        had_side_call = live.side_call is not None
        visit = live.stand(subject_id, self.clock.now(), reason)
        self.record(self.rooms.visit_ended, visit)
        self._seated.pop(subject_id, None)
        self._maps.pop((live.id, subject_id), None)
        await self._seat_changed(subject_id, role)
        media_room = self.media_room(live)
        if media_room is not None and subject_id in media_room.participants:
            await media_room.disconnect(subject_id)
        if had_side_call and live.side_call is None:
            await self._regroup(live)
        self._apply_priorities(live)
        await self.hub.send_to(
            subject_id, RoomLeft(room_id=live.room.id, session_id=live.id, reason=reason.value)
        )
        await self.broadcast(live)

    async def end_session(
        self, live: LiveSession, by: str | None, reason: SessionEndReason
    ) -> None:
        seated = {subject: seat.role for subject, seat in live.seats.items()}
        for visit in live.end(self.clock.now(), by, reason):
            self.record(self.rooms.visit_ended, visit)
        self.record(self.rooms.session_closed, live.record)
        self.live_by_room.pop(live.room.id, None)
        self._room_of_session.pop(live.id, None)
        for subject, role in seated.items():
            self._seated.pop(subject, None)
            self._maps.pop((live.id, subject), None)
            await self._seat_changed(subject, role)
        # Seated people leave the room; members still looking at the Join button lose it.
        ended = RoomEnded(room_id=live.room.id, session_id=live.id, reason=reason.value)
        for subject in {*seated, *live.room.member_ids, live.room.host_id}:
            await self.hub.send_to(subject, ended)
        await self._media.close_room(live.id)

    async def broadcast(self, live: LiveSession) -> None:
        await self._to_seated(live, state_message(live))

    # ---- internals -------------------------------------------------------------------------

    async def _to_seated(self, live: LiveSession, message: ServerMessage) -> None:
        for subject_id in list(live.seats):
            await self.hub.send_to(subject_id, message)

    async def _send_state_and_map(self, live: LiveSession, subject_id: str) -> None:
        await self.hub.send_to(subject_id, state_message(live))
        media_map = self._maps.get((live.id, subject_id))
        if media_map is not None:
            await self.hub.send_to(subject_id, media_map.message(live))

    async def _announce(self, live: LiveSession) -> None:
        """room.starting to the member tablets that are online, and to the host."""
        for client_id in live.room.member_ids:
            if self.hub.is_connected(client_id) and client_id not in live.seats:
                auto = await self._auto_join_after(live, client_id)
                await self.hub.send_to(client_id, starting_message(live, auto))
        await self.hub.send_to(live.room.host_id, starting_message(live, None))

    async def _auto_join_after(self, live: LiveSession, client_id: str) -> int | None:
        """The client's auto-answer setting also lets the tablet join rooms by itself: both
        turn the camera on without a touch, which is what the client agreed to."""
        if client_id in live.left_by_choice or client_id in live.removed:
            return None
        client = await self._store.client(client_id)
        if client is None or not client.settings.auto_answer:
            return None
        return client.settings.auto_answer_after_s

    async def _hosted(self, who: Principal, room_id: str) -> LiveSession:
        live = self.live_by_room.get(room_id)
        if live is None or not self.may_run(who, live.room):
            raise NotFound(f"no open room {room_id}")
        return live

    def _seated_media(self, who: Principal, session_id: str) -> tuple[LiveSession, MediaRoomPort]:
        live = self.live_by_room.get(self._room_of_session.get(session_id, ""))
        media_room = self.media_room(live) if live is not None else None
        if live is None or media_room is None or who.subject_id not in live.seats:
            raise NotFound(f"no call {session_id}")
        return live, media_room

    def _forward_audio(self, live: LiveSession, subject_id: str, enabled: bool) -> None:
        media_room = self.media_room(live)
        # Not connected yet: media_offer applies the seat's mute when it connects.
        if media_room is not None and subject_id in media_room.participants:
            media_room.set_audio_forwarding(subject_id, enabled)

    def _apply_priorities(self, live: LiveSession) -> None:
        media_room = self.media_room(live)
        if media_room is None:
            return
        featured = live.featured()
        # Join order ranks the rest: the newest arrival's thumbnail is paused first.
        order = [*featured, *(s for s in live.seats if s not in featured)]
        media_room.set_priorities(featured, order)

    async def _regroup(self, live: LiveSession) -> None:
        media_room = self.media_room(live)
        if media_room is not None:
            await media_room.set_groups(live.groups())
        self._apply_priorities(live)

    async def _seat_changed(self, subject_id: str, role: SeatRole) -> None:
        """A client sat down or stood up: their presence may have changed."""
        if role is SeatRole.CLIENT:
            await self.hub.refresh_presence(subject_id)

    def presence_flag(self, client_id: str) -> CallFlag | None:
        """Nurses see a client at the table as in a call."""
        return "in_call" if client_id in self._seated else None

    def record(self, write: Callable[[T], Awaitable[None]], value: T) -> None:
        """Queue a store write; writes happen one at a time, in the order they were made."""
        self._writes.put_nowait(lambda: write(value))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write_all())

    async def flush(self) -> None:
        """Wait until every queued store write is done (shutdown, tests, reports)."""
        await self._writes.join()

    async def _write_all(self) -> None:
        while not self._writes.empty():
            write = self._writes.get_nowait()
            try:
                await write()
            except Exception:
                log.exception("writing room attendance failed")
            finally:
                self._writes.task_done()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_tasks(self) -> None:
        await self.flush()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
