"""A headless nurse that keeps what media insight tells it, and a light synthetic camera."""

from __future__ import annotations

import asyncio
import contextlib
import time

from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from protocol.messages import (
    CallHint,
    CallQuality,
    CallRecording,
    CallStart,
    Error,
    MediaOffer,
    ServerMessage,
)
from tablet_client.headless_staff import HeadlessNurse

# Light enough for a loaded 2-core machine.
WIDTH, HEIGHT, FPS = 320, 240, 15


def light_camera(source_id: int, *, black: bool = False) -> SyntheticVideoTrack:
    return SyntheticVideoTrack(source_id, fps=FPS, width=WIDTH, height=HEIGHT, black=black)


class InsightNurse(HeadlessNurse):
    """Records call.hint / call.quality / call.recording / error messages as they arrive."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.hints: list[tuple[float, CallHint]] = []
        self.quality: list[CallQuality] = []
        self.recording: list[CallRecording] = []
        self.errors: list[Error] = []
        self.insight_changed = asyncio.Event()

    async def call(self, client_id: str, timeout: float = 10.0) -> str:
        """As HeadlessNurse.call, with a light camera."""
        assert self.signal is not None
        self.accepted.clear()
        self.ended.clear()
        self.call_pressed_at = time.monotonic()
        self._ringing = asyncio.get_running_loop().create_future()
        self.peer = ClientPeer(ice_servers=self._ice, video=light_camera(self._source_id))
        offer_task = asyncio.create_task(self.peer.create_offer())
        await self.signal.send(CallStart(client_id=client_id))
        call_id = await asyncio.wait_for(self._ringing, timeout)
        self.call_id = call_id
        await self.signal.send(MediaOffer(call_id=call_id, sdp=await offer_task))
        return call_id

    async def _on_message(self, message: ServerMessage) -> None:
        match message:
            case CallHint():
                self.hints.append((time.monotonic(), message))
            case CallQuality():
                self.quality.append(message)
            case CallRecording():
                self.recording.append(message)
            case Error():
                self.errors.append(message)
            case _:
                pass
        self.insight_changed.set()
        await super()._on_message(message)

    async def wait_for(self, check: object, timeout: float) -> None:
        """Wait until check() is true, re-checking on every insight message."""
        assert callable(check)
        deadline = time.monotonic() + timeout
        while not check():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            self.insight_changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.insight_changed.wait(), min(remaining, 0.5))
