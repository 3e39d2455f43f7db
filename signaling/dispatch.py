"""Route one parsed message to its handler, after the role and feature checks of its route."""

from __future__ import annotations

from care_services.fleet import FleetService
from care_sessions.identity import Principal
from protocol.messages import ClientMessage, ProtocolError
from signaling.connection import Connection
from signaling.routes import ROUTE_BY_TYPE, Handlers
from signaling.sdp_guard import SdpRejected, check_sdp


class Dispatcher:
    """Reads signaling.routes: the sender's role, the feature here, then the handler."""

    def __init__(self, handlers: Handlers) -> None:
        self.handlers = handlers

    @property
    def fleet(self) -> FleetService | None:
        return self.handlers.fleet

    async def handle(self, conn: Connection, message: ClientMessage) -> None:
        who = conn.principal
        message_type = message.__struct_config__.tag
        route = ROUTE_BY_TYPE.get(message_type) if isinstance(message_type, str) else None
        if route is None or who.role not in route.roles:
            raise ProtocolError("forbidden", f"{who.role} may not send {message_type}", message.ref)
        if not self.handlers.has(route.feature):
            raise ProtocolError(
                "invalid_state", f"{route.feature.value} not enabled here", message.ref
            )
        sdp = getattr(message, "sdp", None)
        if isinstance(sdp, str):
            try:
                check_sdp(sdp)
            except SdpRejected as exc:
                raise ProtocolError("invalid_sdp", str(exc), message.ref) from None
        await route.handle(self.handlers, conn, message)

    async def connection_closed(self, who: Principal) -> None:
        """The subject's socket closed: what only lives with the socket goes too."""
        if self.handlers.echo is not None:
            await self.handlers.echo.subject_gone(who.subject_id)
