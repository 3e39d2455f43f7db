"""A headless client's link to one deployment: its instances, resuming, reconnecting."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence

import aiohttp

from client_kit.signaling import MessageHandler, SignalingClient, SignalingClosed
from media.ice import IceServerConfig
from protocol.messages import ClientMessage, Welcome

# What a failed connect attempt raises: worth another try, later or on another instance.
CONNECT_ERRORS = (TimeoutError, OSError, aiohttp.ClientError, SignalingClosed)
# Bad or revoked credentials (docs/protocol.md, close codes): reconnecting cannot help.
GIVE_UP_CODES = frozenset({4001, 4003})
# A newer socket of the same tablet took over: this instance is alive, stay on it.
REPLACED = 4000
MAX_BACKOFF_S = 30.0


def ws_url_of(server_url: str) -> str:
    """The signaling socket's URL on a server (http -> ws, https -> wss)."""
    return server_url.rstrip("/").replace("http", "ws", 1) + "/ws"


def ice_servers_of(welcome: Welcome) -> list[IceServerConfig]:
    """The STUN and TURN servers a welcome hands out, for this client's peers."""
    return [
        IceServerConfig(urls=tuple(s.urls), username=s.username, credential=s.credential)
        for s in welcome.ice_servers
    ]


class ServerLink:
    """One client's socket to a deployment of one or more instances, opened again when lost."""

    def __init__(
        self,
        server_url: str | Sequence[str],
        *,
        agent: str,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        urls = [server_url] if isinstance(server_url, str) else list(server_url)
        self.server_urls = [url.rstrip("/") for url in urls]
        self.server_url = self.server_urls[0]
        self._agent = agent
        self._http = http
        # From the last welcome: lets the next socket take this client's calls back.
        self.resume_token: str | None = None
        self.signal: SignalingClient | None = None
        self.welcome: Welcome | None = None
        self.ice_servers: list[IceServerConfig] = []

    async def open(self, handler: MessageHandler, *, token: str | None) -> Welcome:
        """Open a socket to the current instance; messages then go to handler."""
        self.signal = SignalingClient(
            ws_url_of(self.server_url),
            token=token,
            http=self._http,
            agent=self._agent,
            resume_token=self.resume_token,
        )
        welcome = await self.signal.connect(handler)
        self.welcome = welcome
        self.resume_token = welcome.resume_token
        self.ice_servers = ice_servers_of(welcome)
        return welcome

    async def send(self, message: ClientMessage) -> None:
        """Send on the current socket; SignalingClosed when there is none."""
        if self.signal is None:
            raise SignalingClosed(None)
        await self.signal.send(message)

    def next_server(self) -> None:
        index = self.server_urls.index(self.server_url)
        self.server_url = self.server_urls[(index + 1) % len(self.server_urls)]

    async def connect_any(self, connect: Callable[[], Awaitable[None]]) -> None:
        """Run connect against each instance in turn until one answers; raise if none does."""
        for attempt in range(len(self.server_urls)):
            try:
                await connect()
                return
            except CONNECT_ERRORS:
                if attempt == len(self.server_urls) - 1:
                    raise
                self.next_server()

    async def stay_connected(
        self,
        connect: Callable[[], Awaitable[None]],
        *,
        lost: Callable[[], Awaitable[None]],
        give_up: frozenset[int] = GIVE_UP_CODES,
    ) -> int | None:
        """After each lost socket, back off and connect again; return the code that ended it."""
        backoff = 1.0
        while True:
            assert self.signal is not None
            await self.signal.closed.wait()
            code = self.signal.close_code
            await lost()
            if code in give_up:
                return code
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            if code != REPLACED:
                # Its server may be gone (or draining): any instance of the deployment will do.
                self.next_server()
            try:
                await connect()
                backoff = 1.0
            except CONNECT_ERRORS:
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def close(self) -> None:
        if self.signal is not None:
            await self.signal.close()
