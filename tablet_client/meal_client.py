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

from media.client_peer import ClientPeer, VideoSource
from media.ice import IceServerConfig
from signaling.client import SignalingClient
from signaling.protocol import (
    MediaAnswer,
    MediaOffer,
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
        *,
        signal: Callable[[], SignalingClient | None],
        ice_servers: Callable[[], list[IceServerConfig]],
        video_factory: Callable[[], VideoSource],
        auto_join: bool | None = None,
        audio: bool = True,
    ) -> None:
        self._signal = signal
        self._ice_servers = ice_servers
        self._video_factory = video_factory
        # None: follow room.starting's auto_join_after_s (the client's setting); True/False
        # override it (tests, kiosk boards configured locally).
        self._auto_join = auto_join
        self._audio = audio
        self.log = RoomLog()
        self.room_id: str | None = None
        self.session_id: str | None = None
        self.peer: ClientPeer | None = None
        self.last_peer: ClientPeer | None = None
        self.joined_at: float | None = None
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def seated(self) -> bool:
        return self.room_id is not None

    # ---- actions -------------------------------------------------------------------------

    async def sync(self) -> None:
        """Ask which of my rooms are open (after every welcome)."""
        signal = self._signal()
        if signal is not None:
            await signal.send(RoomSync())

    async def join(self, room_id: str) -> None:
        """Press Join, and connect media in the same breath.

        When room.starting named the session, the offer follows the join at once (the
        server handles a socket's messages in order, so the seat exists when the offer
        arrives): a late joiner's first frame should take well under a second. Otherwise
        (a host opening the room) the offer waits for room.state.
        """
        signal = self._signal()
        assert signal is not None
        self.room_id = room_id
        self.joined_at = time.monotonic()
        starting = self.log.starting.get(room_id)
        self.session_id = starting.session_id if starting is not None else None
        if self.session_id is None:
            await signal.send(RoomJoin(room_id=room_id))
            return
        self.peer = self._new_peer()
        offer = asyncio.get_running_loop().create_task(self.peer.create_offer())
        await signal.send(RoomJoin(room_id=room_id))
        await signal.send(MediaOffer(call_id=self.session_id, sdp=await offer))

    async def leave(self) -> None:
        signal = self._signal()
        if signal is not None and self.room_id is not None:
            await signal.send(RoomLeave(room_id=self.room_id))
        await self.close()

    async def close(self) -> None:
        self.room_id = None
        self.session_id = None
        for task in list(self._pending):
            task.cancel()
        await self._drop_peer()

    async def _drop_peer(self) -> None:
        if self.peer is not None:
            peer, self.peer = self.peer, None
            self.last_peer = peer
            await peer.close()

    # ---- messages ------------------------------------------------------------------------

    async def handle(self, message: ServerMessage) -> bool:
        """Consume a room message (or the room's media message); False: not ours."""
        log_ = self.log
        match message:
            case RoomStarting(room_id=room_id, auto_join_after_s=after):
                log_.starting[room_id] = message
                delay = 0.0 if self._auto_join else after
                if self._auto_join is not False and delay is not None and not self.seated:
                    self._later(delay, self._auto(room_id))
            case RoomState(room_id=room_id) if room_id == self.room_id:
                log_.state = message
                if self.peer is None or self.session_id != message.session_id:
                    await self._drop_peer()
                    self.session_id = message.session_id
                    await self._connect_media()
            case RoomMediaMap(session_id=session_id) if session_id == self.session_id:
                log_.tracks = {track.mid: track for track in message.tracks}
            case MediaAnswer(call_id=call_id, sdp=sdp) if self._ours(call_id):
                assert self.peer is not None
                await self.peer.accept_answer(sdp)
            case MediaOffer(call_id=call_id, sdp=sdp) if self._ours(call_id):
                assert self.peer is not None
                answer = await self.peer.accept_offer(sdp)
                signal = self._signal()
                if signal is not None:
                    await signal.send(MediaAnswer(call_id=call_id, sdp=answer))
            case MediaPublishHint(call_id=call_id) if self._ours(call_id):
                log_.hints.append(message)
                assert self.peer is not None
                self.peer.apply_publish_hint(
                    message.max_bitrate, message.max_fps, message.scale_down
                )
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

    def _ours(self, call_id: str) -> bool:
        return self.peer is not None and call_id == self.session_id

    async def _auto(self, room_id: str) -> None:
        if not self.seated and room_id in self.log.starting:
            await self.join(room_id)

    async def _connect_media(self) -> None:
        signal = self._signal()
        assert signal is not None and self.session_id is not None
        self.peer = self._new_peer()
        offer = await self.peer.create_offer()
        await signal.send(MediaOffer(call_id=self.session_id, sdp=offer))

    def _new_peer(self) -> ClientPeer:
        return ClientPeer(
            ice_servers=self._ice_servers(), video=self._video_factory(), audio=self._audio
        )

    def _later(self, delay: float, coro: Coroutine[Any, Any, None]) -> None:
        async def run() -> None:
            await asyncio.sleep(delay)
            with contextlib.suppress(ConnectionError):
                await coro

        task = asyncio.get_running_loop().create_task(run())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
