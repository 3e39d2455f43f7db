"""Route one parsed, authorised message to the service that handles it."""

from __future__ import annotations

from care_sessions.permissions import message_allowed
from signaling.calls import CallService
from signaling.connection import Connection
from signaling.help_desk import HelpDesk
from signaling.protocol import (
    CallAnswer,
    CallDecline,
    CallEnd,
    CallStart,
    ClientMessage,
    Hello,
    HelpCancel,
    HelpRequestMsg,
    HelpTake,
    MediaAnswer,
    MediaOffer,
    Ping,
    Pong,
    ProtocolError,
)
from signaling.sdp_guard import SdpRejected, check_sdp


class Dispatcher:
    """Checks the caller's role against care_sessions.permissions, then calls the service."""

    def __init__(self, calls: CallService, help_desk: HelpDesk) -> None:
        self._calls = calls
        self._help = help_desk

    async def handle(self, conn: Connection, message: ClientMessage) -> None:
        who = conn.principal
        message_type = message.__struct_config__.tag
        if not isinstance(message_type, str) or not message_allowed(message_type, who.role):
            raise ProtocolError("forbidden", f"{who.role} may not send {message_type}", message.ref)
        sdp = getattr(message, "sdp", None)
        if isinstance(sdp, str):
            try:
                check_sdp(sdp)
            except SdpRejected as exc:
                raise ProtocolError("invalid_sdp", str(exc), message.ref) from None
        match message:
            case Ping():
                await conn.send(Pong(ref=message.ref))
            case Hello():
                raise ProtocolError("invalid_state", "already authenticated", message.ref)
            case CallStart(client_id=client_id):
                await self._calls.start(who, client_id)
            case CallAnswer(call_id=call_id):
                await self._calls.answer(who, call_id)
            case CallDecline(call_id=call_id):
                await self._calls.decline(who, call_id)
            case CallEnd(call_id=call_id):
                await self._calls.hang_up(who, call_id)
            case MediaOffer(call_id=call_id, sdp=sdp):
                await self._calls.media_offer(who, call_id, sdp)
            case MediaAnswer(call_id=call_id, sdp=sdp):
                await self._calls.media_answer(who, call_id, sdp)
            case HelpRequestMsg():
                await self._help.request(who)
            case HelpCancel():
                await self._help.cancel(who)
            case HelpTake(help_id=help_id):
                await self._help.take(who, help_id)
