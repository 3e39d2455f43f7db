"""The WebSocket endpoint: a thin pump between aiohttp and a SignalingSession."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import WSCloseCode, WSMsgType, web
from yarl import URL

from care_services.calls import CallService
from care_services.checkins import CheckinService
from care_services.echo import EchoService
from care_services.fleet import FleetService
from care_services.help_desk import HelpDesk
from care_services.insight import InsightService
from care_services.rooms import RoomService
from care_sessions.auth import AuthService
from care_sessions.identity import Principal
from care_sessions.ports import CareStore
from protocol.messages import IceServerOut
from signaling.admission import Admission
from signaling.connection import CloseCode
from signaling.dispatch import Dispatcher
from signaling.hub import SignalingHub
from signaling.rate_limit import TokenBucket
from signaling.routes import Handlers
from signaling.session import SignalingSession

log = logging.getLogger(__name__)
# How long a socket closed for an oversize frame keeps reading (and dropping) the rest of it.
OVERSIZE_LINGER_S = 5.0


class _BoundedWebSocketResponse(web.WebSocketResponse):
    """A WebSocketResponse whose 1009 close reaches a peer that is still sending its frame."""

    oversize = False

    async def close(
        self, *, code: int = WSCloseCode.OK, message: bytes = b"", drain: bool = True
    ) -> bool:
        if code == WSCloseCode.MESSAGE_TOO_BIG:
            self.oversize = True
        return await super().close(code=code, message=message, drain=drain)

    def _close_transport(self) -> None:
        # aiohttp closes the TCP connection right after its 1009 close frame, while the peer is
        # still sending the oversize frame; closing a socket with unread data makes the kernel
        # send a reset, and the peer sees 1006 instead of 1009. The handler closes it later.
        if not self.oversize:
            super()._close_transport()


class _WebSocketSink:
    __slots__ = ("_ws", "closing")

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self.closing: asyncio.Task[bool] | None = None

    async def send_text(self, text: str) -> None:
        if self._ws.closed:
            raise ConnectionError("socket closed")
        await self._ws.send_str(text)

    async def close(self, code: int, reason: str) -> None:
        # aiohttp's close() waits for the peer's reply (up to 10 s); whoever closes a socket
        # (a revocation, say) must not wait on a slow tablet, so the handshake runs on its own
        # and the handler below waits for it before the connection is torn down.
        if self.closing is None:
            self.closing = asyncio.ensure_future(
                self._ws.close(code=code, message=reason.encode()[:120])
            )
            await asyncio.sleep(0)


class SignalingEndpoint:
    """GET /ws: upgrades, then feeds text frames to a session until the socket closes."""

    def __init__(
        self,
        *,
        auth: AuthService,
        store: CareStore,
        hub: SignalingHub,
        calls: CallService,
        help_desk: HelpDesk,
        heartbeat_s: int,
        hello_timeout_s: float,
        max_frame_bytes: int,
        messages_per_s: float,
        message_burst: int,
        max_connections_per_address: int,
        flood_penalty_s: float,
        ice_servers: Callable[[str], list[IceServerOut]],
        principal_of: Callable[[web.Request], Principal | None],
        checkins: CheckinService | None = None,
        rooms: RoomService | None = None,
        echo: EchoService | None = None,
        fleet: FleetService | None = None,
        insight: InsightService | None = None,
        probe_token: str | None = None,
    ) -> None:
        self._auth = auth
        self._store = store
        self._hub = hub
        self._calls = calls
        self._help = help_desk
        self.dispatcher = Dispatcher(
            Handlers(calls, help_desk, checkins, rooms, echo, fleet=fleet, insight=insight)
        )
        self._probe_token = probe_token
        self._heartbeat_s = heartbeat_s
        self._hello_timeout_s = hello_timeout_s
        self._max_frame_bytes = max_frame_bytes
        self._ice_servers = ice_servers
        # Who the HTTP layer signed in (its session cookie); the composition root says how.
        self._principal_of = principal_of
        self._messages_per_s = messages_per_s
        self._message_burst = message_burst
        self._admission = Admission(max_connections_per_address, flood_penalty_s)
        self._closing: set[asyncio.Future[bool]] = set()
        # Set when the instance drains (SIGTERM): new sockets must go to another instance.
        self.draining = False

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        if self.draining:
            # 503 makes a load balancer (and our headless clients) try the next instance.
            raise web.HTTPServiceUnavailable(text="this instance is shutting down")
        if not _same_origin(request):
            # Browsers send the staff cookie with cross-origin upgrades from same-site pages;
            # only our own pages may open a staff socket. Headless clients send no Origin.
            raise web.HTTPForbidden(text="cross-origin WebSocket refused")
        address = request.remote or "unknown"
        refusal = self._admission.refusal(address)
        if refusal is not None:
            raise web.HTTPTooManyRequests(text=refusal)
        self._admission.opened(address)
        try:
            return await self._serve(request, address)
        finally:
            self._admission.closed(address)

    async def _serve(self, request: web.Request, address: str) -> web.WebSocketResponse:
        # compress=False: permessage-deflate would cost ~100 KB per idle tablet socket, and
        # signaling frames are small (WEBRTC-NOTES). aiohttp closes oversize frames with 1009.
        # decode_text=False: a text frame that is not UTF-8 gets bad_json like any other bad
        # frame (parse_message decodes it), not a close without a word.
        ws = _BoundedWebSocketResponse(
            compress=False,
            max_msg_size=self._max_frame_bytes,
            heartbeat=float(self._heartbeat_s * 2),
            decode_text=False,
        )
        await ws.prepare(request)
        principal = self._principal_of(request)
        sink = _WebSocketSink(ws)
        session = SignalingSession(
            sink=sink,
            http_principal=principal,
            auth=self._auth,
            store=self._store,
            hub=self._hub,
            calls=self._calls,
            help_desk=self._help,
            dispatcher=self.dispatcher,
            heartbeat_s=self._heartbeat_s,
            ice_servers=self._ice_servers,
            probe_token=self._probe_token,
        )
        hello_deadline = asyncio.get_running_loop().call_later(
            self._hello_timeout_s, self._close_if_silent, ws, session
        )
        bucket = TokenBucket(self._messages_per_s, self._message_burst)
        try:
            async for msg in ws:
                if msg.type in (WSMsgType.TEXT, WSMsgType.BINARY) and not bucket.allow():
                    # A flooding client costs its own socket, never other clients' latency.
                    self._admission.penalise(address)
                    await ws.close(code=CloseCode.POLICY, message=b"rate limit exceeded")
                    break
                if msg.type is WSMsgType.TEXT:
                    await session.on_text(msg.data)
                    if session.authenticated:
                        # Drop the timer's references to the socket now, not hello_timeout_s
                        # later: thousands of tablets say hello at once after a failover.
                        hello_deadline.cancel()
                elif msg.type is WSMsgType.BINARY:
                    # Text frames only; a binary frame is answered like any other bad input.
                    await session.on_text(b"\x00")
                elif msg.type is WSMsgType.ERROR:
                    log.info("signaling socket error: %s", ws.exception())
        finally:
            hello_deadline.cancel()
            await session.on_closed()
            if ws.oversize:
                await _drain_until_peer_closes(request)
            if sink.closing is not None:
                # Returning tears the TCP connection down; let the close frame and the
                # peer's reply pass first, or the peer sees 1006 instead of our close code.
                await asyncio.wait({sink.closing}, timeout=2.0)
        return ws

    def _close_if_silent(self, ws: web.WebSocketResponse, session: SignalingSession) -> None:
        if not session.authenticated and not ws.closed:
            task = asyncio.ensure_future(
                ws.close(code=CloseCode.HELLO_TIMEOUT, message=b"no hello")
            )
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


async def _drain_until_peer_closes(request: web.Request) -> None:
    """Let the peer finish sending its oversize frame (aiohttp drops it) and read our 1009."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + OVERSIZE_LINGER_S
    # aiohttp tells nobody when an upgraded connection it has stopped reading goes away.
    while request.transport is not None and loop.time() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if request.transport is not None:
        request.transport.close()


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    return (
        URL(origin).host_port_subcomponent
        == URL.build(scheme=request.scheme, authority=request.host).host_port_subcomponent
    )
