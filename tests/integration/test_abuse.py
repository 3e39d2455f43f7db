"""Abuse limits on signaling: a flooding socket is closed, others keep their service."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import RunningServer, make_config, serving
from tests.integration.wire import RawSocket


async def test_flooding_client_is_closed_with_1008(server: RunningServer) -> None:
    """1,000 messages/s from one socket: past the burst it is closed; a neighbour is served."""
    flooder_client = await server.add_client("Flood")
    calm_client = await server.add_client("Calm")
    flooder = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(flooder_client))
    calm = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(calm_client))
    sent = 0

    async def flood() -> None:
        nonlocal sent
        started = time.monotonic()
        while time.monotonic() - started < 3 and not flooder.ws.closed:
            for _ in range(10):
                await flooder.ws.send_str('{"type":"ping"}')
                sent += 1
            await asyncio.sleep(0.01)  # ~1,000 messages per second

    try:
        flooding = asyncio.create_task(flood())
        started = time.monotonic()
        while (message := await flooder.next(timeout=5)) is not None:
            assert message["type"] == "pong"
        closed_after = time.monotonic() - started
        flooding.cancel()
        assert flooder.close_code == 1008
        assert closed_after < 1.5, "the flood was not stopped within the burst allowance"
        assert sum(m["type"] == "pong" for m in flooder.seen) <= 50 + 20 * closed_after + 1
        await calm.send({"type": "ping", "ref": "calm"})
        assert (await calm.expect("pong"))["ref"] == "calm"
        # Reconnecting at once to flood again is refused before the upgrade.
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(server.ws_url)
            assert refused.value.status == 429
    finally:
        await flooder.close()
        await calm.close()


@pytest.fixture
async def small_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    config = make_config(tmp_path, **{"signaling.max_connections_per_address": 3})
    async with serving(config) as running:
        yield running


async def test_connections_per_address_are_capped(small_server: RunningServer) -> None:
    sockets = [await RawSocket.open(small_server.ws_url) for _ in range(3)]
    try:
        async with aiohttp.ClientSession() as http:
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(small_server.ws_url)
            assert refused.value.status == 429
        await sockets[0].close()
        await asyncio.sleep(0.1)
        again = await RawSocket.open(small_server.ws_url)
        await again.close()
    finally:
        for sock in sockets:
            await sock.close()


async def test_cross_origin_upgrade_is_refused(server: RunningServer) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(server.ws_url, headers={"Origin": "https://evil.example"})
        assert refused.value.status == 403
        same = await http.ws_connect(server.ws_url, headers={"Origin": server.url})
        await same.close()
