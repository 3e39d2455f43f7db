"""A raw protocol speaker for tests: JSON frames in, JSON frames out, nothing interpreted."""

from __future__ import annotations

import json
from typing import Any

import aiohttp


class RawSocket:
    """One WebSocket with helpers to send dicts and wait for a given message type."""

    def __init__(self, http: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.http = http
        self.ws = ws
        self.seen: list[dict[str, Any]] = []
        self.server_close_code: int | None = None

    @property
    def close_code(self) -> int | None:
        return self.server_close_code or self.ws.close_code

    @classmethod
    async def open(
        cls, ws_url: str, *, token: str | None = None, http: aiohttp.ClientSession | None = None
    ) -> RawSocket:
        http = http or aiohttp.ClientSession()
        ws = await http.ws_connect(ws_url, max_msg_size=0)
        sock = cls(http, ws)
        if token is not None:
            await sock.send({"type": "hello", "token": token})
            await sock.expect("welcome")
        return sock

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def next(self, timeout: float = 5.0) -> dict[str, Any] | None:
        """The next message, or None when the socket closed."""
        msg = await self.ws.receive(timeout=timeout)
        if msg.type is aiohttp.WSMsgType.CLOSE:
            # The code the server sent; ws.close_code may read 1006 if the server tore the
            # connection down before our reply went out.
            self.server_close_code = int(msg.data)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return None
        data: dict[str, Any] = json.loads(msg.data)
        self.seen.append(data)
        return data

    async def expect(self, message_type: str, timeout: float = 5.0) -> dict[str, Any]:
        """Skip other messages until one of the given type arrives."""
        while True:
            message = await self.next(timeout)
            if message is None:
                raise AssertionError(f"socket closed ({self.close_code}) before {message_type}")
            if message["type"] == message_type:
                return message

    async def close(self) -> None:
        await self.ws.close()
        await self.http.close()


async def staff_socket(server: object, username: str, password: str) -> RawSocket:
    """A staff member's dashboard socket, signed in through the real login service."""
    from yarl import URL

    from tests.conftest import RunningServer

    assert isinstance(server, RunningServer)
    session = await server.services.auth.login(username, password)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    http.cookie_jar.update_cookies({"hoiva_session": session.token}, URL(server.url))
    sock = await RawSocket.open(server.ws_url, http=http)
    await sock.send({"type": "hello"})
    await sock.expect("welcome")
    return sock


async def replies_about(sock: RawSocket, message: dict[str, Any], ref: str) -> list[dict[str, Any]]:
    """Send `message` with `ref`, then a ping: every reply that carries `ref` before the pong.

    The ping's pong bounds the wait: replies to one frame come before those to the next."""
    await sock.send({**message, "ref": ref})
    await sock.send({"type": "ping", "ref": f"after-{ref}"})
    replies: list[dict[str, Any]] = []
    while True:
        reply = await sock.next()
        assert reply is not None, f"the socket closed ({sock.close_code}) after {message['type']}"
        if reply.get("ref") == f"after-{ref}":
            return replies
        if reply.get("ref") == ref:
            replies.append(reply)
