"""One peer session with the media server: the offer, renegotiations, restarts, media states.

Every headless client negotiates the same way (docs/protocol.md, "Media"): the client offers
first, the server offers again when a group room changes, and media.restart means the call's
media moved to another server, where a fresh peer connection offers again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from media.client_peer import ClientPeer
from protocol.messages import (
    CallMedia,
    ClientMessage,
    MediaAnswer,
    MediaOffer,
    MediaPublishHint,
    MediaRestart,
    ServerMessage,
)

Send = Callable[[ClientMessage], Awaitable[None]]
MediaState = str  # CallMedia.state: "connected", "failed" or "closed"


class PeerSession:
    """The peer connection of one call (or room session) and the negotiation that keeps it."""

    def __init__(self, send: Send, new_peer: Callable[[], ClientPeer]) -> None:
        self._send = send
        self._new_peer = new_peer
        self.call_id: str | None = None
        self.peer: ClientPeer | None = None
        self.last_peer: ClientPeer | None = None  # kept after a call for its statistics
        self.restarts = 0
        # Each participant's media state as the server's media layer reports it (call.media).
        self.media: dict[str, MediaState] = {}
        self.media_changed = asyncio.Event()
        self._offer: asyncio.Task[str] | None = None

    async def start_offer(self) -> None:
        """A fresh peer starts gathering its offer now, to overlap with a ring or a join."""
        await self._drop_peer()
        self.peer = self._new_peer()
        self._offer = asyncio.get_running_loop().create_task(self.peer.create_offer())

    async def send_offer(self, call_id: str) -> None:
        """Offer media for call_id: the offer start_offer began, or a fresh peer's."""
        if call_id != self.call_id:
            self.media.clear()
        self.call_id = call_id
        if self._offer is None:
            await self.start_offer()
        assert self._offer is not None
        offer, self._offer = self._offer, None
        await self._send(MediaOffer(call_id=call_id, sdp=await offer))

    async def restart(self) -> None:
        """The call's media moved to another server: a fresh peer connection offers there."""
        assert self.call_id is not None
        await self.start_offer()
        # Counted once the fresh peer exists: whoever waits for the restart finds its peer.
        self.restarts += 1
        await self.send_offer(self.call_id)

    async def handle(self, message: ServerMessage) -> bool:
        """Take this session's media messages; False when the message is not one of them."""
        match message:
            case MediaAnswer(call_id=call_id, sdp=sdp) if self.peer and call_id == self.call_id:
                await self.peer.accept_answer(sdp)
            case MediaOffer(call_id=call_id, sdp=sdp) if self.peer and call_id == self.call_id:
                answer = await self.peer.accept_offer(sdp)
                await self._send(MediaAnswer(call_id=call_id, sdp=answer))
            case MediaPublishHint(call_id=call_id) if self.peer and call_id == self.call_id:
                self.peer.apply_publish_hint(
                    message.max_bitrate, message.max_fps, message.scale_down
                )
            case MediaRestart(call_id=call_id) if call_id == self.call_id:
                await self.restart()
            case CallMedia(call_id=call_id, subject_id=subject_id, state=state) if (
                call_id == self.call_id
            ):
                self.media[subject_id] = state
                self.media_changed.set()
            case _:
                return False
        return True

    async def close(self) -> None:
        """The call is over: forget it and close its peer (kept as last_peer)."""
        self.call_id = None
        self.media.clear()
        await self._drop_peer()

    async def _drop_peer(self) -> None:
        offer, self._offer = self._offer, None
        if offer is not None:
            offer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await offer
        if self.peer is not None:
            peer, self.peer = self.peer, None
            self.last_peer = peer
            await peer.close()
