"""The client kit's negotiation: offer, answer, server renegotiation, media.restart, states.

Both ends are real aiortc peers exchanging real frames; the media server's end is a plain
RTCPeerConnection that sends every video it receives back. Only the socket is our own fake:
the session's `send` writes into a list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamTrack

from client_kit.negotiation import PeerSession
from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from protocol.messages import (
    CallMedia,
    ClientMessage,
    MediaAnswer,
    MediaOffer,
    MediaPublishHint,
    MediaRestart,
)

CALL = "call-1"
FRAMES_TIMEOUT_S = 20.0


def _camera(source_id: int) -> SyntheticVideoTrack:
    return SyntheticVideoTrack(source_id, fps=10, width=320, height=240)


class EchoingServer:
    """The media server's end of one peer connection: answers, sends each video back."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self._relay = MediaRelay()
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "video":
            self.pc.addTrack(self._relay.subscribe(track))

    async def answer(self, offer: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return str(self.pc.localDescription.sdp)

    async def renegotiate(self, extra: MediaStreamTrack) -> str:
        """A second participant's video joins the room: the server offers again."""
        self.pc.addTransceiver(extra, direction="sendonly")
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, answer: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))


class Sent:
    """What the session sent on the (fake) socket."""

    def __init__(self) -> None:
        self.messages: list[ClientMessage] = []

    async def __call__(self, message: ClientMessage) -> None:
        self.messages.append(message)

    def last(self) -> ClientMessage:
        return self.messages[-1]


@pytest.fixture
async def servers() -> AsyncIterator[list[EchoingServer]]:
    made: list[EchoingServer] = []
    yield made
    for server in made:
        await server.pc.close()


async def _connect(session: PeerSession, sent: Sent, server: EchoingServer) -> None:
    await session.send_offer(CALL)
    offer = sent.last()
    assert isinstance(offer, MediaOffer) and offer.call_id == CALL
    answer = MediaAnswer(call_id=CALL, sdp=await server.answer(offer.sdp))
    assert await session.handle(answer)


def _session(sent: Sent) -> PeerSession:
    return PeerSession(sent, lambda: ClientPeer(video=_camera(1), audio=False))


async def test_the_client_offers_and_the_answer_brings_frames(
    servers: list[EchoingServer],
) -> None:
    """The first negotiation: our offer, the server's answer, our own picture comes back."""
    sent = Sent()
    session = _session(sent)
    servers.append(server := EchoingServer())
    try:
        await session.start_offer()  # gathering overlaps with a ring or a join
        await _connect(session, sent, server)
        assert session.peer is not None
        await session.peer.wait_for_video_frames(3, FRAMES_TIMEOUT_S)
        assert any(1 in session.peer.stats.sources(mid) for mid in session.peer.stats.marks)
    finally:
        await session.close()


async def test_media_messages_of_another_call_are_left_alone(
    servers: list[EchoingServer],
) -> None:
    """A media message for another call (a room, an old call) is not this session's."""
    sent = Sent()
    session = _session(sent)
    servers.append(server := EchoingServer())
    try:
        await session.send_offer(CALL)
        offer = sent.last()
        assert isinstance(offer, MediaOffer)
        sdp = await server.answer(offer.sdp)
        assert not await session.handle(MediaAnswer(call_id="another", sdp=sdp))
        assert not await session.handle(MediaRestart(call_id="another"))
        closed = CallMedia(call_id="another", subject_id="nurse", state="closed")
        assert not await session.handle(closed)
        assert session.restarts == 0 and session.media == {}
        assert await session.handle(MediaAnswer(call_id=CALL, sdp=sdp))
    finally:
        await session.close()


async def test_a_server_renegotiation_offer_is_answered(servers: list[EchoingServer]) -> None:
    """The server offers again when a room changes; the session answers on the same call."""
    sent = Sent()
    session = _session(sent)
    servers.append(server := EchoingServer())
    try:
        await _connect(session, sent, server)
        assert session.peer is not None
        await session.peer.wait_connected(FRAMES_TIMEOUT_S)
        offer = await server.renegotiate(_camera(9))
        assert await session.handle(MediaOffer(call_id=CALL, sdp=offer))
        answer = sent.last()
        assert isinstance(answer, MediaAnswer) and answer.call_id == CALL
        await server.accept_answer(answer.sdp)
        await session.peer.wait_for_video_frames(3, FRAMES_TIMEOUT_S, tracks=2)
        seen = set().union(*(session.peer.stats.sources(mid) for mid in session.peer.stats.marks))
        assert {1, 9} <= seen
    finally:
        await session.close()


async def test_media_restart_offers_again_from_a_fresh_peer(
    servers: list[EchoingServer],
) -> None:
    """media.restart: the old peer closes (kept for its statistics), a new one offers the
    same call to the server that now holds its media, and frames flow there."""
    sent = Sent()
    session = _session(sent)
    servers.append(first := EchoingServer())
    try:
        await _connect(session, sent, first)
        old = session.peer
        assert old is not None
        await old.wait_for_video_frames(1, FRAMES_TIMEOUT_S)
        assert await session.handle(MediaRestart(call_id=CALL))
        assert session.restarts == 1
        assert session.last_peer is old and old.connection_state == "closed"
        assert session.peer is not None and session.peer is not old
        offer = sent.last()
        assert isinstance(offer, MediaOffer) and offer.call_id == CALL
        servers.append(second := EchoingServer())
        assert await session.handle(MediaAnswer(call_id=CALL, sdp=await second.answer(offer.sdp)))
        await session.peer.wait_for_video_frames(3, FRAMES_TIMEOUT_S)
    finally:
        await session.close()


async def test_media_states_and_publish_hints_follow_the_call() -> None:
    """call.media states are kept per participant; a publish hint reaches the peer."""
    sent = Sent()
    session = _session(sent)
    try:
        await session.send_offer(CALL)
        assert await session.handle(CallMedia(call_id=CALL, subject_id="nurse", state="connected"))
        assert await session.handle(CallMedia(call_id=CALL, subject_id="aino", state="failed"))
        assert session.media == {"nurse": "connected", "aino": "failed"}
        assert session.media_changed.is_set()
        hint = MediaPublishHint(call_id=CALL, max_bitrate=300_000, max_fps=10, scale_down=2.0)
        assert await session.handle(hint)
        assert session.peer is not None and session.peer.publish_hint == (300_000, 10, 2.0)
    finally:
        await session.close()
    assert session.call_id is None and session.peer is None and session.media == {}
    assert session.last_peer is not None
