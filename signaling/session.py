"""One socket's life, transport-free: hello, authentication, then messages until it closes."""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from collections.abc import Callable

from care_services.calls import CallService
from care_services.client_views import client_settings_out
from care_services.help_desk import HelpDesk
from care_sessions.auth import AuthService
from care_sessions.errors import AuthenticationFailed, CareSessionError
from care_sessions.identity import Principal, Role
from care_sessions.ports import CareStore
from protocol.messages import (
    Error,
    FamilyOfOut,
    Hello,
    IceServerOut,
    ProtocolError,
    Welcome,
    dump_message,
    parse_message,
)
from signaling.bus import BusUnavailable
from signaling.connection import CloseCode, Connection, MessageSink
from signaling.dispatch import Dispatcher
from signaling.hub import SignalingHub
from signaling.resume_book import RESUME_TTL_S

log = logging.getLogger(__name__)


class SignalingSession:
    """Feeds frames from a transport through parsing, auth and dispatch; replies via the sink."""

    # One per socket, 15,000 sockets per instance: no per-object __dict__.
    __slots__ = (
        "_auth",
        "_calls",
        "_dispatcher",
        "_heartbeat_s",
        "_help",
        "_http_principal",
        "_hub",
        "_ice_servers",
        "_probe_token",
        "_sink",
        "_store",
        "connection",
    )

    def __init__(
        self,
        *,
        sink: MessageSink,
        http_principal: Principal | None,
        auth: AuthService,
        store: CareStore,
        hub: SignalingHub,
        calls: CallService,
        help_desk: HelpDesk,
        dispatcher: Dispatcher,
        heartbeat_s: int,
        ice_servers: Callable[[str], list[IceServerOut]],
        probe_token: str | None = None,
    ) -> None:
        self._sink = sink
        self._http_principal = http_principal
        self._auth = auth
        self._store = store
        self._hub = hub
        self._calls = calls
        self._help = help_desk
        self._dispatcher = dispatcher
        self._heartbeat_s = heartbeat_s
        self._ice_servers = ice_servers
        self._probe_token = probe_token
        self.connection: Connection | None = None

    @property
    def authenticated(self) -> bool:
        return self.connection is not None

    async def on_text(self, raw: str | bytes) -> None:
        """Handle one frame; every failure becomes an error reply, never an exception."""
        ref = None
        try:
            message = parse_message(raw)
            ref = message.ref
            if self.connection is None:
                if not isinstance(message, Hello):
                    raise ProtocolError("not_authenticated", "send hello first", ref)
                await self._hello(message)
                return
            await self._dispatcher.handle(self.connection, message)
        except ProtocolError as exc:
            await self._error(exc.code, str(exc), exc.ref or ref)
        except AuthenticationFailed as exc:
            await self._error(exc.code, str(exc), ref)
            await self._sink.close(CloseCode.NOT_AUTHENTICATED, "not authenticated")
        except CareSessionError as exc:
            await self._error(exc.code, str(exc), ref)
        except Exception:
            # A bug must cost one reply, not the socket nor the other calls on this server.
            log.exception("unhandled error while handling a signaling message")
            await self._error("internal", "internal error, the server logged it", ref)

    async def on_closed(self) -> None:
        if self.connection is None:
            return
        conn, self.connection = self.connection, None
        conn.closed = True
        await self._hub.unregister(conn)
        await self._dispatcher.connection_closed(conn.principal)
        await self._calls.connection_lost(conn.principal)

    async def _hello(self, hello: Hello) -> None:
        principal = self._http_principal
        if hello.token is not None and self._is_probe(hello.token):
            # Each probe socket is its own subject: probes never share an echo test.
            principal = Principal(Role.PROBE, f"probe-{secrets.token_hex(6)}", "Synthetic probe")
        elif hello.token is not None:
            principal = await self._auth.token_principal(hello.token)
        if principal is None or principal.role not in (
            Role.TABLET,
            Role.FAMILY,
            Role.PROBE,
            Role.NURSE,
            Role.HOST,
            Role.ADMIN,
        ):
            raise AuthenticationFailed(
                "sign in (staff), or send a device token (tablet) or call link (family)"
            )
        settings = None
        if principal.role is Role.TABLET:
            client = await self._store.client(principal.subject_id)
            if client is None:
                raise AuthenticationFailed("device belongs to no client")
            settings = client_settings_out(client.settings)
        family_of = None
        if principal.role is Role.FAMILY:
            client = await self._store.client(principal.client_id or "")
            if client is None:
                raise AuthenticationFailed("this call link is not valid any more")
            family_of = FamilyOfOut(client_id=client.id, first_name=client.first_name)
        resumed = await self._resumed(hello.resume_token, principal.subject_id)
        conn = Connection(principal, self._sink)
        await conn.send(
            Welcome(
                ref=hello.ref,
                protocol=1,
                role=principal.role.value,
                subject_id=principal.subject_id,
                display_name=principal.display_name,
                heartbeat_s=self._heartbeat_s,
                tablet_heartbeat_s=self._tablet_heartbeat_s(principal),
                settings=settings,
                ice_servers=self._ice_servers(principal.subject_id),
                resume_token=await self._resume_token(principal.subject_id),
                resumed=resumed,
                family_of=family_of,
            )
        )
        self.connection = conn
        await self._hub.register(conn)
        if principal.is_staff:
            await conn.send(await self._help.queue_message())
        await self._calls.connection_opened(conn)

    def _is_probe(self, token: str) -> bool:
        expected = self._probe_token
        return expected is not None and hmac.compare_digest(token.encode(), expected.encode())

    def _tablet_heartbeat_s(self, principal: Principal) -> float | None:
        """How often a tablet reports to the fleet; nothing to report where no fleet runs."""
        fleet = self._dispatcher.fleet
        if principal.role is not Role.TABLET or fleet is None:
            return None
        return fleet.settings.heartbeat_s

    async def _resumed(self, token: str | None, subject_id: str) -> bool:
        """A valid token from this subject's previous socket (issued by any instance)."""
        if token is None:
            return False
        try:
            return await self._hub.bus.take_resume(token) == subject_id
        except BusUnavailable:
            return False

    async def _resume_token(self, subject_id: str) -> str | None:
        token = secrets.token_urlsafe(24)
        try:
            await self._hub.bus.put_resume(token, subject_id, RESUME_TTL_S)
        except BusUnavailable:
            return None
        return token

    async def _error(self, code: str, message: str, ref: str | None) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._sink.send_text(dump_message(Error(code=code, message=message, ref=ref)))
