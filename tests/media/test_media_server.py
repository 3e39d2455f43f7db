"""MediaServer: the registry of rooms and its counters."""

from __future__ import annotations

import pytest

from media import MediaServer, MediaSettings, RoomClosed
from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from tests.media.media_harness import LoopbackSignal


async def test_rooms_are_idempotent_counted_and_closed(media_server: MediaServer) -> None:
    """open_room returns the same room per id; closing a room disconnects its participants."""
    signal = LoopbackSignal()
    room = media_server.open_room("r1", signal)
    assert media_server.open_room("r1", LoopbackSignal()) is room
    assert media_server.room("r1") is room and media_server.room("r2") is None

    peer = ClientPeer(video=SyntheticVideoTrack(1, width=160, height=120))
    late = ClientPeer(video=None)
    try:
        await peer.accept_answer(await room.connect("alice", await peer.create_offer()))
        assert (media_server.rooms_active, media_server.participants_active) == (1, 1)
        await media_server.close_room("r1")
        assert (media_server.rooms_active, media_server.participants_active) == (0, 0)
        assert ("alice", "closed", {"reason": "room_closed"}) in signal.events
        with pytest.raises(RoomClosed):
            await room.connect("bob", await late.create_offer())
    finally:
        await peer.close()
        await late.close()
    await media_server.close_room("unknown")  # ignored


async def test_closed_server_refuses_new_rooms() -> None:
    server = MediaServer(MediaSettings())
    await server.start()
    server.open_room("r", LoopbackSignal())
    await server.close()
    assert server.rooms_active == 0
    with pytest.raises(RoomClosed):
        server.open_room("r", LoopbackSignal())


def test_settings_reject_wildcard_bind_and_bad_announce() -> None:
    with pytest.raises(ValueError):
        MediaServer(MediaSettings(bind_addresses=("0.0.0.0",)))
    with pytest.raises(ValueError):
        MediaServer(MediaSettings(announce_address="not-an-ip"))
