"""A seat at a meal or exercise room for headless peers (tablet and host), and what it saw.

The headless tablet and the headless host hand every server message to `RoomSeat.handle`
first; it consumes the room's messages and the media messages of the room's session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from client_kit.link import ServerLink
from client_kit.negotiation import PeerSession
from media.client_peer import ClientPeer, VideoSource
from protocol.messages import (
    MediaPublishHint,
    RoomEnded,
    RoomJoin,
    RoomLeave,
    RoomLeft,
    RoomMediaMap,
    RoomStarting,
    RoomState,
    RoomSync,
    RoomTrack,
    ServerMessage,
)

log = logging.getLogger(__name__)


@dataclass
class RoomLog:
    """What the seat went through, for tests and the probe."""

    starting: dict[str, RoomStarting] = field(default_factory=dict)  # by room id
    state: RoomState | None = None
    tracks: dict[str, RoomTrack] = field(default_factory=dict)  # by mid
    hints: list[MediaPublishHint] = field(default_factory=list)
    left: list[tuple[str, str]] = field(default_factory=list)  # (room id, reason)
    ended: list[tuple[str, str]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def publisher_of(self, mid: str) -> str | None:
        track = self.tracks.get(mid)
        return track.publisher_id if track else None

    def me(self, subject_id: str) -> Any:
        """My entry in the last room.state, or None."""
        if self.state is None:
            return None
        return next((p for p in self.state.participants if p.subject_id == subject_id), None)


class RoomSeat:
    """Joins rooms (by a touch, or by itself when allowed), runs the room's peer connection."""

    def __init__(
        self,
        link: ServerLink,
        *,
        video_factory: Callable[[], VideoSource],
        auto_join: bool | None = None,
        audio: bool = True,
    ) -> None:
        self._link = link
        self._video_factory = video_factory
        # None: follow room.starting's auto_join_after_s (the client's setting); True/False
        # override it (tests, kiosk boards configured locally).
        self._auto_join = auto_join
        self._audio = audio
        self.log = RoomLog()
        self.room_id: str | None = None
        # The room's media session: its id is the call id of the session's media messages.
        self.media = PeerSession(link.send, self._new_peer)
        self.joined_at: float | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def seated(self) -> bool:
        return self.room_id is not None

    @property
    def session_id(self) -> str | None:
        return self.media.call_id

    @property
    def peer(self) -> ClientPeer | None:
        return self.media.peer

    @property
    def last_peer(self) -> ClientPeer | None:
        return self.media.last_peer

    # ---- actions -------------------------------------------------------------------------

    async def sync(self) -> None:
        """Ask which of my rooms are open (after every welcome)."""
        if self._link.signal is not None:
            await self._link.send(RoomSync())

    async def join(self, room_id: str) -> None:
        """Press Join, and connect media in the same breath.

        When room.starting named the session, the offer follows the join at once (the
        server handles a socket's messages in order, so the seat exists when the offer
        arrives): a late joiner's first frame should take well under a second. Otherwise
        (a host opening the room) the offer waits for room.state.
        """
        self.room_id = room_id
        self.joined_at = time.monotonic()
        starting = self.log.starting.get(room_id)
        session_id = starting.session_id if starting is not None else None
        self.media.call_id = session_id
        if session_id is None:
            await self._link.send(RoomJoin(room_id=room_id))
            return
        await self.media.start_offer()
        await self._link.send(RoomJoin(room_id=room_id))
        await self.media.send_offer(session_id)

    async def leave(self) -> None:
        if self._link.signal is not None and self.room_id is not None:
            await self._link.send(RoomLeave(room_id=self.room_id))
        await self.close()

    async def close(self) -> None:
        self.room_id = None
        for task in list(self._pending):
            task.cancel()
        await self.media.close()

    # ---- messages ------------------------------------------------------------------------

    async def handle(self, message: ServerMessage) -> bool:
        """Consume a room message (or the room's media message); False: not ours."""
        log_ = self.log
        if await self.media.handle(message):
            if isinstance(message, MediaPublishHint):
                log_.hints.append(message)
            log_.changed.set()
            return True
        match message:
            case RoomStarting(room_id=room_id, auto_join_after_s=after):
                log_.starting[room_id] = message
                delay = 0.0 if self._auto_join else after
                if self._auto_join is not False and delay is not None and not self.seated:
                    self._later(delay, self._auto(room_id))
            case RoomState(room_id=room_id) if room_id == self.room_id:
                log_.state = message
                if self.peer is None or self.session_id != message.session_id:
                    await self.media.close()
                    await self.media.send_offer(message.session_id)
            case RoomMediaMap(session_id=session_id) if session_id == self.session_id:
                log_.tracks = {track.mid: track for track in message.tracks}
            case RoomLeft(room_id=room_id, reason=reason):
                log_.left.append((room_id, reason))
                if room_id == self.room_id:
                    await self.close()
            case RoomEnded(room_id=room_id, reason=reason):
                log_.ended.append((room_id, reason))
                log_.starting.pop(room_id, None)
                if room_id == self.room_id:
                    await self.close()
            case _:
                return False
        log_.changed.set()
        return True

    async def _auto(self, room_id: str) -> None:
        if not self.seated and room_id in self.log.starting:
            await self.join(room_id)

    def _new_peer(self) -> ClientPeer:
        return ClientPeer(
            ice_servers=self._link.ice_servers, video=self._video_factory(), audio=self._audio
        )

    def _later(self, delay: float, coro: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            with contextlib.suppress(ConnectionError):
                await coro

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
