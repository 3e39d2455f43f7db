"""Fixtures for media tests: a loopback-only media server and headless client peers.

All traffic stays on 127.0.0.1 and no STUN/TURN server is ever configured. Every test that
uses the media server runs twice, with `media.fast_path` on ("fast") and off ("public"),
except those marked `fast_path_only` (they are about the fast path's own mechanics).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from media import MediaServer, MediaSettings, use_host_addresses
from tests.media.media_harness import Call, LoopbackSignal


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fast_path_only(reason): runs with media.fast_path on only, for `reason`"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fast_path" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("fast_path_only") is not None
        values = [True] if only else [True, False]
        ids = ["fast" if value else "public" for value in values]
        metafunc.parametrize("fast_path", values, ids=ids)


@pytest.fixture(autouse=True)
def loopback_only() -> Iterator[None]:
    """Loopback for these tests, and again after them (tests/test_ice may change it): the
    whole session's headless peers rely on it (tests/conftest.py)."""
    use_host_addresses(["127.0.0.1"])
    yield
    use_host_addresses(["127.0.0.1"])


@pytest.fixture
async def media_server(fast_path: bool) -> AsyncIterator[MediaServer]:
    media_server = MediaServer(MediaSettings(bind_addresses=("127.0.0.1",), fast_path=fast_path))
    await media_server.start()
    yield media_server
    await media_server.close()


@pytest.fixture
async def call(media_server: MediaServer) -> AsyncIterator[Call]:
    signal = LoopbackSignal()
    room = media_server.open_room("room-1", signal)
    signal.room = room
    yield Call(media_server, room, signal)
    await asyncio.gather(*(peer.close() for peer in signal.peers.values()))
    await media_server.close_room("room-1")
