"""Route one parsed, authorised message to the service that handles it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from care_sessions.identity import Principal
from care_sessions.permissions import message_allowed
from signaling.calls import CallService
from signaling.checkins import CheckinService
from signaling.connection import Connection
from signaling.echo import EchoService
from signaling.help_desk import HelpDesk
from signaling.protocol import (
    AttentionResolve,
    CallAnswer,
    CallDecline,
    CallEnd,
    CallRecordStart,
    CallRecordStop,
    CallStart,
    CheckinConfirm,
    CheckinPending,
    CheckinRecord,
    ClientMessage,
    EchoAnswer,
    EchoStart,
    EchoStop,
    EscalationClose,
    FleetReload,
    FleetSelftest,
    FleetWatch,
    Hello,
    HelpCancel,
    HelpRequestMsg,
    HelpTake,
    MediaAnswer,
    MediaOffer,
    Ping,
    Pong,
    ProtocolError,
    RoomEnd,
    RoomJoin,
    RoomLeave,
    RoomLock,
    RoomMute,
    RoomMuteAll,
    RoomOpen,
    RoomRemove,
    RoomSideCall,
    RoomSpotlight,
    RoomSync,
    SelftestResult,
    TabletHeartbeat,
)
from signaling.rooms import RoomService
from signaling.sdp_guard import SdpRejected, check_sdp

if TYPE_CHECKING:
    from signaling.fleet import FleetService
    from signaling.insight import InsightService

CareMessage = CheckinPending | CheckinConfirm | CheckinRecord | EscalationClose | AttentionResolve
FleetMessage = TabletHeartbeat | SelftestResult | FleetWatch | FleetReload | FleetSelftest
RoomMessage = (
    RoomSync
    | RoomOpen
    | RoomJoin
    | RoomLeave
    | RoomMute
    | RoomMuteAll
    | RoomSpotlight
    | RoomRemove
    | RoomLock
    | RoomSideCall
    | RoomEnd
)


class Dispatcher:
    """Checks the caller's role against care_sessions.permissions, then calls the service."""

    def __init__(
        self,
        calls: CallService,
        help_desk: HelpDesk,
        checkins: CheckinService | None = None,
        rooms: RoomService | None = None,
        echo: EchoService | None = None,
    ) -> None:
        self._calls = calls
        self._echo = echo
        self._help = help_desk
        self._checkins = checkins
        self._rooms = rooms
        # Media insight (recording, check-in face evidence); set by SignalingRuntime.
        self.insight: InsightService | None = None
        # The tablet fleet (heartbeats, self-tests, the admins' fleet page); set likewise.
        self.fleet: FleetService | None = None

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
            # A room's media uses the session id as call id; everything else is a call's.
            case MediaOffer(call_id=call_id, sdp=sdp) if self._room_media(call_id):
                assert self._rooms is not None
                await self._rooms.media_offer(who, call_id, sdp)
            case MediaAnswer(call_id=call_id, sdp=sdp) if self._room_media(call_id):
                assert self._rooms is not None
                await self._rooms.media_answer(who, call_id, sdp)
            case MediaOffer(call_id=call_id, sdp=sdp):
                await self._calls.media_offer(who, call_id, sdp)
            case MediaAnswer(call_id=call_id, sdp=sdp):
                await self._calls.media_answer(who, call_id, sdp)
            case (
                RoomSync()
                | RoomOpen()
                | RoomJoin()
                | RoomLeave()
                | RoomMute()
                | RoomMuteAll()
                | RoomSpotlight()
                | RoomRemove()
                | RoomLock()
                | RoomSideCall()
                | RoomEnd()
            ):
                await self._room(conn, message)
            case CallRecordStart(call_id=call_id) | CallRecordStop(call_id=call_id):
                if self.insight is None:
                    raise ProtocolError("invalid_state", "recording is not enabled", message.ref)
                if isinstance(message, CallRecordStart):
                    await self.insight.start_recording(who, call_id)
                else:
                    await self.insight.stop_recording(who, call_id)
            case EchoStart(sdp=sdp):
                echo = self._require_echo(message.ref)
                echo_id, answer, max_s = await echo.start(who, sdp)
                await conn.send(
                    EchoAnswer(ref=message.ref, echo_id=echo_id, sdp=answer, max_s=max_s)
                )
            case EchoStop(echo_id=echo_id):
                await self._require_echo(message.ref).stop(who, echo_id)
            case HelpRequestMsg():
                await self._help.request(who)
            case HelpCancel():
                await self._help.cancel(who)
            case HelpTake(help_id=help_id):
                await self._help.take(who, help_id)
            case (
                TabletHeartbeat()
                | SelftestResult()
                | FleetWatch()
                | FleetReload()
                | FleetSelftest()
            ):
                await self._fleet(conn, message)
            case _:
                # What is left are the care messages; mypy checks that nothing else is.
                await self._care(conn, message)

    async def _care(self, conn: Connection, message: CareMessage) -> None:
        if self._checkins is None:
            raise ProtocolError("invalid_state", "check-ins are not enabled here", message.ref)
        who = conn.principal
        match message:
            case CheckinPending():
                await conn.send(await self._checkins.reminders_message(who.subject_id))
            case CheckinConfirm(checkin_id=checkin_id, outcome=outcome, glucose_mmol_l=value):
                await self._checkins.confirm(who, checkin_id, outcome, value, message.ref)
            case CheckinRecord(
                checkin_id=checkin_id, outcome=outcome, glucose_mmol_l=value, note=note
            ):
                await self._checkins.record(who, checkin_id, outcome, value, note, message.ref)
                if self.insight is not None:
                    await self.insight.note_checkin(who, checkin_id)
            case EscalationClose(escalation_id=escalation_id, note=note):
                await self._checkins.close_escalation(who, escalation_id, note, message.ref)
            case AttentionResolve(flag_id=flag_id, action=action, note=note):
                await self._checkins.resolve_flag(who, flag_id, action, note)

    async def connection_closed(self, who: Principal) -> None:
        """The subject's socket closed: what only lives with the socket goes too."""
        if self._echo is not None:
            await self._echo.subject_gone(who.subject_id)

    def _require_echo(self, ref: str | None) -> EchoService:
        if self._echo is None:
            raise ProtocolError("invalid_state", "echo tests are not enabled here", ref)
        return self._echo

    async def _fleet(self, conn: Connection, message: FleetMessage) -> None:
        if self.fleet is None:
            raise ProtocolError("invalid_state", "the fleet is not enabled here", message.ref)
        fleet, who = self.fleet, conn.principal
        match message:
            case TabletHeartbeat():
                await fleet.heartbeat(who, message)
            case SelftestResult():
                await fleet.selftest_result(who, message)
            case FleetWatch():
                await fleet.watch(conn)
            case FleetReload(device_id=device_id):
                await fleet.reload(conn, device_id, message.ref)
            case FleetSelftest(device_id=device_id):
                await fleet.request_selftest(conn, device_id, message.ref)

    def _room_media(self, call_id: str) -> bool:
        return self._rooms is not None and self._rooms.handles(call_id)

    async def _room(self, conn: Connection, message: RoomMessage) -> None:
        if self._rooms is None:
            raise ProtocolError("invalid_state", "rooms are not enabled here", message.ref)
        rooms, who = self._rooms, conn.principal
        match message:
            case RoomSync():
                await rooms.sync(who)
            case RoomOpen(room_id=room_id):
                await rooms.open(who, room_id)
            case RoomJoin(room_id=room_id):
                await rooms.join(who, room_id)
            case RoomLeave(room_id=room_id):
                await rooms.leave(who, room_id)
            case RoomMute(room_id=room_id, subject_id=subject_id, muted=muted):
                await rooms.mute(who, room_id, subject_id, muted)
            case RoomMuteAll(room_id=room_id, muted=muted):
                await rooms.mute_all(who, room_id, muted)
            case RoomSpotlight(room_id=room_id, subject_id=subject_id):
                await rooms.spotlight(who, room_id, subject_id)
            case RoomRemove(room_id=room_id, subject_id=subject_id):
                await rooms.remove(who, room_id, subject_id)
            case RoomLock(room_id=room_id, locked=locked):
                await rooms.lock_room(who, room_id, locked)
            case RoomSideCall(room_id=room_id, subject_id=subject_id):
                await rooms.side_call(who, room_id, subject_id)
            case RoomEnd(room_id=room_id):
                await rooms.end(who, room_id)
