"""A headless nurse: signs in like the dashboard does and places calls (tests, bench, probe)."""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from media.client_peer import ClientPeer
from media.ice import IceServerConfig
from media.synthetic import SyntheticVideoTrack
from signaling.client import SignalingClient, SignalingClosed
from signaling.protocol import (
    CallAccepted,
    CallEnd,
    CallEnded,
    CallRinging,
    CallStart,
    Error,
    HelpQueue,
    HelpTake,
    MediaAnswer,
    MediaOffer,
    MediaRestart,
    PresenceSnapshot,
    PresenceUpdate,
    ServerMessage,
    Welcome,
)

_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@dataclass
class StaffView:
    """What the dashboard would show: presence, help queue, call outcomes, errors."""

    presence: dict[str, str] = field(default_factory=dict)
    help_queue: list[str] = field(default_factory=list)
    ended: dict[str, str] = field(default_factory=dict)
    end_messages: dict[str, str] = field(default_factory=dict)
    errors: list[Error] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class HeadlessNurse:
    """Logs in with a password, holds the dashboard's socket, and calls clients."""

    def __init__(
        self,
        server_url: str | Sequence[str],
        username: str,
        password: str,
        *,
        source_id: int = 100,
        reconnect: bool = False,
    ) -> None:
        # Several URLs: the instances of one deployment. With reconnect, a lost socket comes
        # back on the next one (the session cookie is valid on every instance).
        urls = [server_url] if isinstance(server_url, str) else list(server_url)
        self._server_urls = [url.rstrip("/") for url in urls]
        self._server_url = self._server_urls[0]
        self._reconnect = reconnect
        self._resume_token: str | None = None
        self._runner: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.media_restarts = 0
        self._username = username
        self._password = password
        self._source_id = source_id
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.signal: SignalingClient | None = None
        self.welcome: Welcome | None = None
        self.peer: ClientPeer | None = None
        self.view = StaffView()
        self.call_id: str | None = None
        self.call_pressed_at: float | None = None
        self.accepted = asyncio.Event()
        self.ended = asyncio.Event()
        self._ringing: asyncio.Future[str] | None = None
        self._ice: list[IceServerConfig] = []
        # A relative's call link instead of a password (tablet_client/headless_family.py).
        self._link_token: str | None = None

    async def login(self) -> None:
        async with self._http.get(f"{self._server_url}/login") as page:
            match = _CSRF_FIELD.search(await page.text())
        form = {"username": self._username, "password": self._password}
        if match:
            form["csrf_token"] = match.group(1)
        async with self._http.post(
            f"{self._server_url}/login", data=form, allow_redirects=False
        ) as response:
            if response.status not in (302, 303):
                raise PermissionError(f"login refused ({response.status})")

    async def start(self) -> None:
        await self.login()
        await self._connect()
        if self._reconnect:
            self._runner = asyncio.create_task(self._stay_connected())

    async def _connect(self) -> None:
        ws_url = self._server_url.replace("http", "ws", 1) + "/ws"
        self.signal = SignalingClient(
            ws_url,
            token=self._link_token,
            http=self._http,
            agent="hoiva-nurse-headless/0.1",
            resume_token=self._resume_token,
        )
        welcome = await self.signal.connect(self._on_message)
        self.welcome = welcome
        self._resume_token = welcome.resume_token
        self._ice = [
            IceServerConfig(urls=tuple(s.urls), username=s.username, credential=s.credential)
            for s in welcome.ice_servers
        ]
        self.connected.set()

    async def _stay_connected(self) -> None:
        """Like the dashboard: after a lost socket, back off and try the next instance."""
        backoff = 1.0
        while True:
            assert self.signal is not None
            await self.signal.closed.wait()
            self.connected.clear()
            if self.signal.close_code == 4001:
                return
            await asyncio.sleep(backoff * random.uniform(0.8, 1.2))
            index = self._server_urls.index(self._server_url)
            self._server_url = self._server_urls[(index + 1) % len(self._server_urls)]
            try:
                await self._connect()
                backoff = 1.0
            except (TimeoutError, OSError, aiohttp.ClientError, SignalingClosed):
                backoff = min(backoff * 2, 30.0)

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self.peer is not None:
            await self.peer.close()
        if self.signal is not None:
            await self.signal.close()
        await self._http.close()

    async def call(self, client_id: str, timeout: float = 10.0) -> str:
        """Press Call: ring the client and connect our media while it rings."""
        assert self.signal is not None
        self.accepted.clear()
        self.ended.clear()
        self.call_pressed_at = time.monotonic()
        self._ringing = asyncio.get_running_loop().create_future()
        # Gather our offer while the server rings the tablet: the two overlap.
        self.peer = ClientPeer(
            ice_servers=self._ice, video=SyntheticVideoTrack(source_id=self._source_id)
        )
        offer_task = asyncio.create_task(self.peer.create_offer())
        await self.signal.send(CallStart(client_id=client_id))
        async with asyncio.timeout(timeout):
            call_id = await self._ringing
        self.call_id = call_id
        await self.signal.send(MediaOffer(call_id=call_id, sdp=await offer_task))
        return call_id

    async def hang_up(self) -> None:
        if self.signal is not None and self.call_id is not None:
            await self.signal.send(CallEnd(call_id=self.call_id))

    async def take_help(self, help_id: str) -> None:
        assert self.signal is not None
        self._ringing = asyncio.get_running_loop().create_future()
        self.peer = ClientPeer(
            ice_servers=self._ice, video=SyntheticVideoTrack(source_id=self._source_id)
        )
        offer_task = asyncio.create_task(self.peer.create_offer())
        await self.signal.send(HelpTake(help_id=help_id))
        async with asyncio.timeout(10):
            call_id = await self._ringing
        self.call_id = call_id
        await self.signal.send(MediaOffer(call_id=call_id, sdp=await offer_task))

    async def _restart_media(self, call_id: str) -> None:
        """The call's media moved to another server: a fresh peer connection offers there."""
        self.media_restarts += 1
        old = self.peer
        self.peer = ClientPeer(
            ice_servers=self._ice, video=SyntheticVideoTrack(source_id=self._source_id)
        )
        if old is not None:
            await old.close()
        sdp = await self.peer.create_offer()
        assert self.signal is not None
        await self.signal.send(MediaOffer(call_id=call_id, sdp=sdp))

    async def _on_message(self, message: ServerMessage) -> None:
        match message:
            case CallRinging(call_id=call_id):
                if self._ringing is not None and not self._ringing.done():
                    self._ringing.set_result(call_id)
            case MediaAnswer(sdp=sdp) if self.peer is not None:
                await self.peer.accept_answer(sdp)
            case MediaOffer(call_id=call_id, sdp=sdp) if self.peer is not None:
                answer = await self.peer.accept_offer(sdp)
                assert self.signal is not None
                await self.signal.send(MediaAnswer(call_id=call_id, sdp=answer))
            case CallAccepted():
                self.accepted.set()
            case MediaRestart(call_id=call_id) if call_id == self.call_id:
                await self._restart_media(call_id)
            case CallEnded(call_id=call_id, reason=reason):
                self.view.ended[call_id] = reason
                if message.message:
                    self.view.end_messages[call_id] = message.message
                if self._ringing is not None and not self._ringing.done():
                    # Busy / offline end the call before it rings.
                    self._ringing.set_exception(CallRefused(reason))
                if call_id == self.call_id or self.call_id is None:
                    self.ended.set()
            case PresenceSnapshot(clients=clients):
                self.view.presence = {c.client_id: c.status for c in clients}
            case PresenceUpdate(client=entry) if entry is not None:
                self.view.presence[entry.client_id] = entry.status
            case HelpQueue(requests=requests):
                self.view.help_queue = [r.help_id for r in requests]
            case Error():
                self.view.errors.append(message)
                if self._ringing is not None and not self._ringing.done():
                    self._ringing.set_exception(CallRefused(message.code))
            case _:
                pass
        self.view.changed.set()


class CallRefused(Exception):
    """The call ended before ringing (busy, offline) or the server refused it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
