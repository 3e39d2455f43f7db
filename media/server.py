"""The media server: settings, the signaling seam it reports to, and the registry of rooms."""

from __future__ import annotations

import asyncio
import logging

from media import aiortc_internals
from media.errors import MediaError, RoomClosed
from media.ice import use_host_addresses
from media.room import MediaRoom, MediaSignal
from media.settings import MediaSettings
from media.udp_reads import install_draining_reads

__all__ = ["MediaRoom", "MediaServer", "MediaSettings", "MediaSignal"]

logger = logging.getLogger(__name__)


class MediaServer:
    """Owns every media room of this process."""

    def __init__(self, settings: MediaSettings) -> None:
        settings.validate()
        self._settings = settings
        self._rooms: dict[str, MediaRoom] = {}
        self._started = False
        self._closed = False

    @property
    def settings(self) -> MediaSettings:
        return self._settings

    @property
    def error_type(self) -> type[MediaError]:
        """The root of the errors this server and its rooms raise on purpose."""
        return MediaError

    @property
    def rooms_active(self) -> int:
        return len(self._rooms)

    @property
    def participants_active(self) -> int:
        return sum(len(room.participants) for room in self._rooms.values())

    async def start(self) -> None:
        """Check the fast path's internals and apply the host-address policy; call once
        before the first room is used (`FastPathUnavailable` names what changed)."""
        if self._closed:
            raise RoomClosed("media server is closed")
        if self._settings.fast_path:
            await aiortc_internals.check_fast_path()
        if self._settings.bind_addresses:
            use_host_addresses(self._settings.bind_addresses)
        if self._settings.fast_path:
            install_draining_reads()
        self._started = True

    async def close(self) -> None:
        """Close every room and every participant's connection."""
        self._closed = True
        rooms = list(self._rooms.values())
        self._rooms.clear()
        await asyncio.gather(*(room.close() for room in rooms))

    def open_room(self, room_id: str, signal: MediaSignal, *, echo: bool = False) -> MediaRoom:
        """Return the room `room_id`, creating it with `signal` if it does not exist yet.

        An echo room sends each participant its own media back (device self-tests and the
        synthetic probe prove the whole path: ICE, DTLS, SRTP, forwarding, both ways)."""
        if self._closed:
            raise RoomClosed("media server is closed")
        room = self._rooms.get(room_id)
        if room is None:
            room = MediaRoom(room_id, signal, self._settings, echo=echo)
            self._rooms[room_id] = room
        return room

    def room(self, room_id: str) -> MediaRoom | None:
        return self._rooms.get(room_id)

    def rooms(self) -> list[MediaRoom]:
        """Every open room (metrics walk them for the forwarded bitrate)."""
        return list(self._rooms.values())

    async def close_room(self, room_id: str) -> None:
        """Close the room and disconnect its participants; unknown rooms are ignored."""
        room = self._rooms.pop(room_id, None)
        if room is not None:
            await room.close()
