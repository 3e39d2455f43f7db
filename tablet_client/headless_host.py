"""A headless host: signs in like the host console does and runs a meal room (tests, probe)."""

from __future__ import annotations

from collections.abc import Callable

from media.client_peer import VideoSource
from media.synthetic import SyntheticVideoTrack
from protocol.messages import (
    ClientMessage,
    RoomEnd,
    RoomLock,
    RoomMute,
    RoomMuteAll,
    RoomOpen,
    RoomRemove,
    RoomSideCall,
    RoomSpotlight,
    ServerMessage,
)
from tablet_client.headless_staff import HeadlessNurse
from tablet_client.meal_client import RoomSeat


class HeadlessHost(HeadlessNurse):
    """The staff sign-in and socket of HeadlessNurse, plus a room seat and the host controls."""

    def __init__(
        self,
        server_url: str,
        username: str,
        password: str,
        *,
        source_id: int = 100,
        video_factory: Callable[[], VideoSource] | None = None,
        audio: bool = True,
    ) -> None:
        super().__init__(server_url, username, password, source_id=source_id)
        self.meal = RoomSeat(
            self.link,
            video_factory=video_factory or (lambda: SyntheticVideoTrack(source_id=source_id)),
            auto_join=False,
            audio=audio,
        )

    async def stop(self) -> None:
        await self.meal.close()
        await super().stop()

    async def _on_message(self, message: ServerMessage) -> None:
        if await self.meal.handle(message):
            return
        await super()._on_message(message)

    # ---- the console's buttons -----------------------------------------------------------

    async def open_room(self, room_id: str) -> None:
        await self._send(RoomOpen(room_id=room_id))

    async def join_room(self, room_id: str) -> None:
        """Open the room if needed and take the host's seat; media follows."""
        await self.meal.join(room_id)

    async def mute(self, subject_id: str, muted: bool = True) -> None:
        await self._send(RoomMute(room_id=self._room(), subject_id=subject_id, muted=muted))

    async def mute_all(self, muted: bool = True) -> None:
        await self._send(RoomMuteAll(room_id=self._room(), muted=muted))

    async def spotlight(self, subject_id: str | None) -> None:
        await self._send(RoomSpotlight(room_id=self._room(), subject_id=subject_id))

    async def remove(self, subject_id: str) -> None:
        await self._send(RoomRemove(room_id=self._room(), subject_id=subject_id))

    async def lock(self, locked: bool = True) -> None:
        await self._send(RoomLock(room_id=self._room(), locked=locked))

    async def side_call(self, subject_id: str | None) -> None:
        await self._send(RoomSideCall(room_id=self._room(), subject_id=subject_id))

    async def end_room(self) -> None:
        await self._send(RoomEnd(room_id=self._room()))

    def _room(self) -> str:
        if self.meal.room_id is None:
            raise RuntimeError("join a room first")
        return self.meal.room_id

    async def _send(self, message: ClientMessage) -> None:
        await self.link.send(message)
