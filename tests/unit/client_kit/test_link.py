"""The client kit's link: the first instance that answers, resuming, and reconnecting.

The instances are tiny aiohttp servers that speak only hello -> welcome, and close a socket
with whatever code a test asks for.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from client_kit.link import ServerLink
from client_kit.signaling import SignalingClosed
from protocol.messages import (
    Hello,
    IceServerOut,
    ServerMessage,
    Welcome,
    dump_message,
    parse_message,
)

TIMEOUT_S = 10.0


class Instance:
    """One instance's signaling socket, reduced to hello -> welcome (with a resume token)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.hellos: list[Hello] = []
        self.sockets: asyncio.Queue[web.WebSocketResponse] = asyncio.Queue()
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ws", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def next_socket(self) -> web.WebSocketResponse:
        async with asyncio.timeout(TIMEOUT_S):
            return await self.sockets.get()

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = parse_message(await ws.receive_str())
        assert isinstance(hello, Hello)
        self.hellos.append(hello)
        welcome = Welcome(
            protocol=1,
            role="tablet",
            subject_id="aino",
            display_name="Aino",
            heartbeat_s=30,
            ice_servers=[IceServerOut(urls=["turn:127.0.0.1:3478"], username="u", credential="c")],
            resume_token=f"{self.name}-{len(self.hellos)}",
        )
        await ws.send_str(dump_message(welcome))
        await self.sockets.put(ws)
        async for _ in ws:
            pass
        return ws


@pytest.fixture
async def instances() -> AsyncIterator[tuple[Instance, Instance]]:
    pair = (Instance("a"), Instance("b"))
    for instance in pair:
        await instance.start()
    yield pair
    for instance in pair:
        await instance.stop()


def _dead_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def _ignore(message: ServerMessage) -> None:
    pass


async def test_the_first_instance_that_answers_takes_the_client(
    instances: tuple[Instance, Instance],
) -> None:
    """A deployment's first instance is down: the client connects to the next one."""
    a, _ = instances
    link = ServerLink([_dead_url(), a.url], agent="test")

    async def connect() -> None:
        await link.open(_ignore, token="device-token")

    try:
        await link.connect_any(connect)
        assert link.server_url == a.url
        assert a.hellos[0].token == "device-token" and a.hellos[0].resume_token is None
        assert link.resume_token == "a-1"
        assert [s.urls for s in link.ice_servers] == [("turn:127.0.0.1:3478",)]
    finally:
        await link.close()


async def test_no_instance_answering_raises() -> None:
    """With every instance down, the first connect fails loudly."""
    link = ServerLink([_dead_url(), _dead_url()], agent="test")

    async def connect() -> None:
        await link.open(_ignore, token=None)

    with pytest.raises(OSError):
        await link.connect_any(connect)
    assert link.signal is not None and link.signal.closed.is_set()
    with pytest.raises(SignalingClosed):
        await link.signal.send(Hello(token=None, agent="test"))


async def test_a_lost_socket_comes_back_resumed_until_revoked(
    instances: tuple[Instance, Instance],
) -> None:
    """A lost socket reconnects on the next instance with the last resume token; a replaced
    one stays on its instance; a revoked one gives up and says why."""
    a, b = instances
    link = ServerLink([a.url, b.url], agent="test")
    lost = 0

    async def connect() -> None:
        await link.open(_ignore, token="device-token")

    async def on_lost() -> None:
        nonlocal lost
        lost += 1

    await link.connect_any(connect)
    first = await a.next_socket()
    staying = asyncio.create_task(link.stay_connected(connect, lost=on_lost))
    try:
        await first.close(code=1011)  # the instance failed: try the next one
        second = await b.next_socket()
        assert b.hellos[-1].resume_token == "a-1" and link.server_url == b.url
        await second.close(code=4000)  # replaced: its instance is alive, stay there
        third = await b.next_socket()
        assert b.hellos[-1].resume_token == "b-1" and link.server_url == b.url
        await third.close(code=4003)  # revoked: nothing to try again
        async with asyncio.timeout(TIMEOUT_S):
            assert await staying == 4003
        assert lost == 3
    finally:
        staying.cancel()
        await link.close()
