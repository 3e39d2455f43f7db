"""A headless nurse: signs in like the dashboard does and places calls (tests, bench, probe)."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

import aiohttp

from media.client_peer import ClientPeer
from media.ice import IceServerConfig
from media.synthetic import SyntheticVideoTrack
from signaling.client import SignalingClient
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
    PresenceSnapshot,
    PresenceUpdate,
    ServerMessage,
)

_CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


@dataclass
class StaffView:
    """What the dashboard would show: presence, help queue, call outcomes, errors."""

    presence: dict[str, str] = field(default_factory=dict)
    help_queue: list[str] = field(default_factory=list)
    ended: dict[str, str] = field(default_factory=dict)
    errors: list[Error] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class HeadlessNurse:
    """Logs in with a password, holds the dashboard's socket, and calls clients."""

    def __init__(
        self, server_url: str, username: str, password: str, *, source_id: int = 100
    ) -> None:
        self._server_url = server_url.rstrip("/")
        self._username = username
        self._password = password
        self._source_id = source_id
        self._http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.signal: SignalingClient | None = None
        self.peer: ClientPeer | None = None
        self.view = StaffView()
        self.call_id: str | None = None
        self.call_pressed_at: float | None = None
        self.accepted = asyncio.Event()
        self.ended = asyncio.Event()
        self._ringing: asyncio.Future[str] | None = None
        self._ice: list[IceServerConfig] = []

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
        ws_url = self._server_url.replace("http", "ws", 1) + "/ws"
        self.signal = SignalingClient(ws_url, http=self._http, agent="hoiva-nurse-headless/0.1")
        welcome = await self.signal.connect(self._on_message)
        self._ice = [
            IceServerConfig(urls=tuple(s.urls), username=s.username, credential=s.credential)
            for s in welcome.ice_servers
        ]

    async def stop(self) -> None:
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
        call_id = await asyncio.wait_for(self._ringing, timeout)
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
        call_id = await asyncio.wait_for(self._ringing, 10)
        self.call_id = call_id
        await self.signal.send(MediaOffer(call_id=call_id, sdp=await offer_task))

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
            case CallEnded(call_id=call_id, reason=reason):
                self.view.ended[call_id] = reason
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
