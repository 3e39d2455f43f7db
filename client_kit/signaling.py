"""A signaling client for headless peers (tablets on Linux boards, the probe, tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import msgspec

from protocol.messages import (
    ClientMessage,
    Error,
    Hello,
    ServerMessage,
    Welcome,
    dump_client_message,
    parse_server_message,
)

log = logging.getLogger(__name__)
MessageHandler = Callable[[ServerMessage], Awaitable[None]]


class SignalingClosed(ConnectionError):
    def __init__(self, code: int | None) -> None:
        super().__init__(f"signaling socket closed with code {code}")
        self.code = code


class SignalingClient:
    """One WebSocket to a Hoiva server; messages go to a handler in arrival order."""

    def __init__(
        self,
        ws_url: str,
        *,
        token: str | None = None,
        http: aiohttp.ClientSession | None = None,
        agent: str = "hoiva-headless/0.1",
        resume_token: str | None = None,
    ) -> None:
        self._url = ws_url
        self._token = token
        # From the previous socket's welcome: lets the server restore this client's calls.
        self._resume_token = resume_token
        self._own_http = http is None
        self._http = http
        self._agent = agent
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self.welcome: Welcome | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    async def connect(self, handler: MessageHandler, timeout: float = 10.0) -> Welcome:
        """Open the socket, say hello and return the welcome; then messages go to handler."""
        if self._http is None:
            self._http = aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(self._url, autoping=True, heartbeat=None)
            await self.send(
                Hello(token=self._token, agent=self._agent, resume_token=self._resume_token)
            )
            first = await self._receive(timeout)
        except BaseException:
            # A socket that never got its welcome is closed too: whoever waits on `closed`
            # (a reconnect loop) must not wait for it forever.
            await self.close()
            raise
        if isinstance(first, Error):
            await self.close()
            raise SignalingClosed(self.close_code or 4001)
        if not isinstance(first, Welcome):
            await self.close()
            raise SignalingClosed(None)
        self.welcome = first
        self._reader = asyncio.create_task(self._read(handler))
        return first

    async def send(self, message: ClientMessage) -> None:
        if self._ws is None or self._ws.closed:
            raise SignalingClosed(self.close_code)
        await self._ws.send_str(dump_client_message(message))

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        if self._own_http and self._http is not None:
            await self._http.close()
        self.closed.set()

    async def _receive(self, timeout: float) -> ServerMessage:
        assert self._ws is not None
        msg = await self._ws.receive(timeout=timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            self.close_code = self._ws.close_code
            raise SignalingClosed(self.close_code)
        return parse_server_message(msg.data)

    async def _read(self, handler: MessageHandler) -> None:
        assert self._ws is not None
        try:
            async for msg in self._ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                try:
                    message = parse_server_message(msg.data)
                except msgspec.DecodeError:
                    log.warning("ignoring a frame this client does not understand")
                    continue
                try:
                    await handler(message)
                except Exception:
                    log.exception("headless client failed handling %s", type(message).__name__)
        finally:
            self.close_code = self._ws.close_code
            self.closed.set()
