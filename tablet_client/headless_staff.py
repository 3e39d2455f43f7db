"""A headless nurse: signs in like the dashboard does and places calls (tests, bench, probe)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from client_kit.link import ServerLink
from client_kit.negotiation import PeerSession
from client_kit.signaling import SignalingClient
from media.client_peer import ClientPeer
from media.ice import IceServerConfig
from media.synthetic import SyntheticVideoTrack
from protocol.messages import (
    CallAccepted,
    CallEnd,
    CallEnded,
    CallRinging,
    CallStart,
    ClientMessage,
    Error,
    HelpQueue,
    HelpTake,
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
        self._reconnect = reconnect
        self._runner: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._username = username
        self._password = password
        self._source_id = source_id
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        # Several URLs: the instances of one deployment. With reconnect, a lost socket comes
        # back on the next one (the session cookie is valid on every instance).
        self.link = ServerLink(server_url, agent="hoiva-nurse-headless/0.1", http=self._http)
        self.media = PeerSession(self.link.send, self._new_peer)
        self.view = StaffView()
        self.call_pressed_at: float | None = None
        self.accepted = asyncio.Event()
        self.ended = asyncio.Event()
        self._ringing: asyncio.Future[str] | None = None
        # A relative's call link instead of a password (tablet_client/headless_family.py).
        self._link_token: str | None = None

    @property
    def signal(self) -> SignalingClient | None:
        return self.link.signal

    @property
    def welcome(self) -> Welcome | None:
        return self.link.welcome

    @property
    def media_restarts(self) -> int:
        return self.media.restarts

    # A subclass may place a call its own way (tests/integration/insight_harness.py).
    @property
    def peer(self) -> ClientPeer | None:
        return self.media.peer

    @peer.setter
    def peer(self, peer: ClientPeer | None) -> None:
        self.media.peer = peer

    @property
    def call_id(self) -> str | None:
        return self.media.call_id

    @call_id.setter
    def call_id(self, call_id: str | None) -> None:
        self.media.call_id = call_id

    @property
    def _ice(self) -> list[IceServerConfig]:
        return self.link.ice_servers

    async def login(self) -> None:
        server_url = self.link.server_url
        async with self._http.get(f"{server_url}/login") as page:
            match = _CSRF_FIELD.search(await page.text())
        form = {"username": self._username, "password": self._password}
        if match:
            form["csrf_token"] = match.group(1)
        async with self._http.post(
            f"{server_url}/login", data=form, allow_redirects=False
        ) as response:
            if response.status not in (302, 303):
                raise PermissionError(f"login refused ({response.status})")

    async def start(self) -> None:
        await self.login()
        await self._connect()
        if self._reconnect:
            self._runner = asyncio.create_task(self._stay_connected())

    async def _connect(self) -> None:
        await self.link.open(self._on_message, token=self._link_token)
        self.connected.set()

    async def _stay_connected(self) -> None:
        """Like the dashboard: after a lost socket, back off and try the next instance."""
        await self.link.stay_connected(self._connect, lost=self._lost)

    async def _lost(self) -> None:
        self.connected.clear()

    async def stop(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        await self.media.close()
        await self.link.close()
        await self._http.close()

    async def call(self, client_id: str, timeout: float = 10.0) -> str:
        """Press Call: ring the client and connect our media while it rings."""
        self.accepted.clear()
        self.ended.clear()
        self.call_pressed_at = time.monotonic()
        return await self._ring(CallStart(client_id=client_id), timeout)

    async def hang_up(self) -> None:
        if self.signal is not None and self.call_id is not None:
            await self.signal.send(CallEnd(call_id=self.call_id))

    async def take_help(self, help_id: str) -> None:
        await self._ring(HelpTake(help_id=help_id), 10)

    async def _ring(self, start: ClientMessage, timeout: float) -> str:
        """Send what starts a call and gather our offer while the server rings the tablet."""
        self._ringing = asyncio.get_running_loop().create_future()
        await self.media.start_offer()
        await self.link.send(start)
        async with asyncio.timeout(timeout):
            call_id = await self._ringing
        await self.media.send_offer(call_id)
        return call_id

    def _new_peer(self) -> ClientPeer:
        video = SyntheticVideoTrack(source_id=self._source_id)
        return ClientPeer(ice_servers=self.link.ice_servers, video=video)

    async def _on_message(self, message: ServerMessage) -> None:
        if not await self.media.handle(message):
            await self._on_staff_message(message)
        self.view.changed.set()

    async def _on_staff_message(self, message: ServerMessage) -> None:
        match message:
            case CallRinging(call_id=call_id):
                if self._ringing is not None and not self._ringing.done():
                    self._ringing.set_result(call_id)
            case CallAccepted():
                self.accepted.set()
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


class CallRefused(Exception):
    """The call ended before ringing (busy, offline) or the server refused it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
