"""Care calls end to end: ringing, answering, media negotiation, ending, and their records.

A call lives on the instance that owns its media room (the one where `call.start` arrived).
A participant whose socket is on another instance reaches it through the bus: that instance
forwards the participant's call messages here, and everything this instance sends to the
participant is routed back by the hub. If the owner dies, a survivor adopts the call from
its snapshot (care_services/call_moves.py) and both ends offer their media again.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, assert_never

from care_services.call_snapshot import (
    call_from_bytes,
    call_to_bytes,
    error_from_body,
    error_to_body,
    principal_from_body,
    principal_to_body,
)
from care_services.media_events import MediaEvent
from care_services.media_ports import MediaGateway, MediaRoomPort
from care_services.ports import Body, BusUnavailable, CallOwnership, Notifier, Participant
from care_services.presence import CallFlag
from care_services.settings import CallSettings
from care_sessions.calls import Call, CallState, reason_for_hangup
from care_sessions.clock import Clock
from care_sessions.errors import CareSessionError, Forbidden, InvalidState, NotFound
from care_sessions.family import FamilyCallRefusal
from care_sessions.identity import Client, Principal, Role
from care_sessions.ports import CareStore
from care_sessions.records import EndReason, SessionKind
from protocol.messages import (
    CallAccepted,
    CallEnded,
    CallIncoming,
    CallMedia,
    CallRinging,
    MediaAnswer,
    MediaOffer,
    MediaRestart,
)

log = logging.getLogger(__name__)

FORWARD_TIMEOUT_S = 5.0  # a forwarded media.offer includes the owner's ICE gathering


class FamilyCallPolicy(Protocol):
    """Decides whether a relative may ring the client now (care_sessions.family)."""

    async def refusal(self, caller: Principal, client: Client) -> FamilyCallRefusal | None: ...


class _CallMediaSignal:
    """What the media room tells the call: offers to relay and connection state changes."""

    def __init__(self, service: CallService, call_id: str) -> None:
        self._service = service
        self._call_id = call_id

    async def send_offer(self, participant_id: str, sdp: str) -> None:
        await self._service.hub.send_to(participant_id, MediaOffer(call_id=self._call_id, sdp=sdp))

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        await self._service.on_media_event(self._call_id, participant_id, event)


class CallService:
    """Owns every live call of this instance; the only writer of call records."""

    def __init__(
        self,
        *,
        store: CareStore,
        clock: Clock,
        hub: Notifier,
        bus: CallOwnership,
        media: MediaGateway,
        settings: CallSettings,
        family: FamilyCallPolicy | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.hub = hub
        self._bus = bus
        self._media = media
        self._settings = settings
        self._calls: dict[str, Call] = {}
        self._by_subject: dict[str, str] = {}  # subject id -> live call id
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Participants of adopted calls whose media has not reached this instance yet, and
        # those of them already told so on their current socket (telling twice would make a
        # client offer twice, and the first answer would land on the second peer connection).
        self._restart_pending: dict[str, set[str]] = {}
        self._restart_told: dict[str, set[str]] = {}
        self.draining = False
        self._idle = asyncio.Event()
        self._idle.set()
        # Without it no family call rings.
        self.family = family

    # ---- queries -------------------------------------------------------------------------

    def call(self, call_id: str) -> Call | None:
        return self._calls.get(call_id)

    def call_of(self, subject_id: str) -> Call | None:
        call_id = self._by_subject.get(subject_id)
        return self._calls.get(call_id) if call_id else None

    def presence_flag(self, client_id: str) -> CallFlag | None:
        """Ringing or in a care call held here (to care staff a client in a family call is free)."""
        call = self.call_of(client_id)
        if call is None or call.client_id != client_id or call.is_family:
            return None
        return "in_call" if call.state is CallState.ACTIVE else "ringing"

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    def live_calls(self) -> list[Call]:
        return list(self._calls.values())

    async def wait_until_idle(self, timeout: float) -> bool:
        """Wait until this instance holds no call; False if some are left after `timeout`."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True

    def _hold(self, call: Call) -> None:
        self._calls[call.id] = call
        for subject in call.participants():
            self._by_subject[subject] = call.id
        self._idle.clear()

    def _let_go(self, call: Call) -> None:
        self._calls.pop(call.id, None)
        self._restart_pending.pop(call.id, None)
        self._restart_told.pop(call.id, None)
        for subject in call.participants():
            if self._by_subject.get(subject) == call.id:
                del self._by_subject[subject]
        for key in [k for k in self._timers if k[0] == call.id]:
            self._timers.pop(key).cancel()
        if not self._calls:
            self._idle.set()

    # ---- commands ------------------------------------------------------------------------

    async def start(
        self,
        caller: Principal,
        client_id: str,
        *,
        kind: SessionKind = SessionKind.CALL,
        call_id: str | None = None,
        ref: str | None = None,
    ) -> Call:
        """Ring a client's tablet; busy and offline outcomes are recorded too.

        Care comes first: a care call ends a family call the client is in, and a family
        call rings only when the client's settings and consent allow it."""
        family_call = caller.role is Role.FAMILY
        if family_call:
            kind = SessionKind.FAMILY_CALL
        await self._check_caller(caller, client_id)
        client = await self._store.client(client_id)
        if client is None:
            raise NotFound(f"no client {client_id}")
        now = self._clock.now()
        call = Call.ring(
            call_id=call_id or str(uuid.uuid4()),
            kind=kind,
            caller_id=caller.subject_id,
            caller_name=caller.display_name,
            client_id=client.id,
            client_name=client.display_name,
            at=now,
        )
        await self._store.session_started(call.record)
        if family_call:
            refusal = await self._family_refusal(caller, client)
            if refusal is not None:
                await self._not_placed(call, refusal.reason, ref, message=str(refusal))
                return call
        else:
            await self._preempt_family_call(client.id)
        unavailable = await self._unavailability(call)
        if unavailable is not None:
            await self._not_placed(call, unavailable, ref)
            return call
        await self._ring(call, caller, client, ref)
        return call

    async def _check_caller(self, caller: Principal, client_id: str) -> None:
        """Who may call whom, and whether this instance can place a call now."""
        if caller.role is Role.FAMILY:
            if client_id != caller.client_id:
                raise NotFound(f"no client {client_id}")
        elif caller.role not in (Role.NURSE, Role.ADMIN):
            raise Forbidden("only care staff can place care calls")
        if caller.subject_id in self._by_subject:
            raise InvalidState("you are already in a call; end it first")
        if self.draining:
            raise BusUnavailable("this server is shutting down; reconnect and call again")
        # Without the bus nobody could tell whether the client is busy elsewhere.
        if not self._bus.healthy:
            raise BusUnavailable("calls cannot start while the cluster is unreachable")
        if await self._in_live_call_elsewhere(caller.subject_id):
            raise InvalidState("you are already in a call; end it first")

    async def _unavailability(self, call: Call) -> EndReason | None:
        """Why the client cannot be rung (busy, offline, claimed elsewhere), or None."""
        if call.client_id in self._by_subject:
            return EndReason.BUSY
        if not self.hub.is_connected(call.client_id):
            return EndReason.OFFLINE
        try:
            return await self._claim(call)
        except BusUnavailable:
            # No outcome is lost: the record says the call could not be placed.
            call.end(at=self._clock.now(), by=None, reason=EndReason.INTERRUPTED)
            await self._store.session_updated(call.record)
            raise

    async def _not_placed(
        self, call: Call, reason: EndReason, ref: str | None, message: str | None = None
    ) -> None:
        """Record the call as never rung, and tell the caller why."""
        call.end(at=self._clock.now(), by=None, reason=reason)
        await self._store.session_updated(call.record)
        await self.hub.send_to(
            call.caller_id,
            CallEnded(ref=ref, call_id=call.id, reason=reason.value, message=message),
        )

    async def _ring(self, call: Call, caller: Principal, client: Client, ref: str | None) -> None:
        """Hold the call, tell the caller it rings and the tablet that it is called."""
        family_call = caller.role is Role.FAMILY
        self._hold(call)
        if not family_call:
            # To care staff a client with family is still free: their call goes first.
            await self.hub.refresh_presence(client.id)
        await self.hub.send_to(
            caller.subject_id,
            CallRinging(
                ref=ref, call_id=call.id, client_id=client.id, client_name=client.display_name
            ),
        )
        settings = client.settings
        auto_answers = settings.family_auto_answer if family_call else settings.auto_answer
        await self.hub.send_to(
            client.id,
            CallIncoming(
                call_id=call.id,
                caller_name=caller.display_name,
                auto_answer_after_s=settings.auto_answer_after_s if auto_answers else None,
                caller_kind="family" if family_call else "care",
            ),
        )
        self._arm(call.id, "ring", self._settings.ring_timeout_s, self._ring_timeout)

    async def answer(self, who: Principal, call_id: str) -> None:
        if call_id not in self._calls:
            await self._forward("answer", who, call_id)
            return
        call = self._participant_call(who, call_id)
        if who.subject_id != call.client_id:
            raise Forbidden("only the called client can answer")
        call.answer(self._clock.now())
        self._disarm(call.id, "ring")
        if not call.is_family:
            await self.hub.refresh_presence(call.client_id)
        await self._store.session_updated(call.record)
        await self.save(call)
        for subject in call.participants():
            await self.hub.send_to(subject, CallAccepted(call_id=call.id))
        self._arm(call.id, "media", self._settings.media_timeout_s, self._media_timeout)

    async def decline(self, who: Principal, call_id: str) -> None:
        if call_id not in self._calls:
            await self._forward("decline", who, call_id)
            return
        call = self._participant_call(who, call_id)
        if who.subject_id != call.client_id or call.state is not CallState.RINGING:
            raise InvalidState("only a ringing call can be declined, by the client")
        await self._end(call, by=who.subject_id, reason=EndReason.DECLINED)

    async def hang_up(self, who: Principal, call_id: str) -> None:
        if call_id not in self._calls:
            await self._forward("hang_up", who, call_id)
            return
        call = self._participant_call(who, call_id)
        await self._end(call, by=who.subject_id, reason=reason_for_hangup(call, who.subject_id))

    async def media_offer(
        self, who: Principal, call_id: str, sdp: str, ref: str | None = None
    ) -> str:
        """Connect a participant's peer connection to the call's media room."""
        if call_id not in self._calls:
            reply = await self._forward("media_offer", who, call_id, sdp, ref)
            return str(reply.get("answer", ""))
        call = self._participant_call(who, call_id)
        if who.subject_id == call.client_id and call.state is not CallState.ACTIVE:
            # The caller may connect while it rings (it saves a round trip); the client only
            # once it has answered, so an unanswered tablet never sends media.
            raise InvalidState("answer the call before sending media")
        room = self._room(call)
        try:
            answer = await room.connect(who.subject_id, sdp)
        except self._media.error_type as exc:
            raise InvalidSdpError(str(exc)) from exc
        await self.hub.send_to(who.subject_id, MediaAnswer(ref=ref, call_id=call.id, sdp=answer))
        return answer

    async def media_answer(self, who: Principal, call_id: str, sdp: str) -> None:
        if call_id not in self._calls:
            await self._forward("media_answer", who, call_id, sdp)
            return
        call = self._participant_call(who, call_id)
        try:
            await self._room(call).accept_answer(who.subject_id, sdp)
        except self._media.error_type as exc:
            raise InvalidSdpError(str(exc)) from exc

    async def connection_lost(self, who: Principal) -> None:
        """A participant's last socket closed: ringing calls end, active ones wait for it."""
        await self.subject_gone(who.subject_id)

    async def subject_gone(self, subject_id: str) -> None:
        """The subject has no socket on any instance any more (here or reported by the bus)."""
        call = self.call_of(subject_id)
        if call is None or self.hub.is_connected(subject_id):
            return
        self._restart_told.get(call.id, set()).discard(subject_id)
        if call.state is CallState.RINGING:
            await self._end(call, by=subject_id, reason=EndReason.DROPPED)
        else:
            self._arm(call.id, f"drop:{subject_id}", self._settings.drop_grace_s, self._dropped)

    async def connection_opened(self, conn: Participant) -> None:
        """A participant's new socket (here): it, and only it, hears that its call goes on.

        `call.accepted` is said once per socket (docs/protocol.md), by the instance that
        holds the socket, since only that instance knows the socket is new: the owner sees
        the same subject "come back" again whenever Redis restarts and every instance
        announces its sockets again, and may be dead when the participant reconnects."""
        subject_id = conn.principal.subject_id
        call = self.call_of(subject_id)
        if call is None:
            call_id = await self._active_call_elsewhere(subject_id)
            if call_id is not None:
                await conn.send(CallAccepted(call_id=call_id))
            return
        self._disarm(call.id, f"drop:{subject_id}")
        if call.state is CallState.ACTIVE:
            await conn.send(CallAccepted(call_id=call.id))
        await self._restart_if_pending(call, subject_id)

    async def subject_back(self, subject_id: str) -> None:
        """The subject has a socket again, on another instance (which said `call.accepted`)."""
        call = self.call_of(subject_id)
        if call is None:
            return
        self._disarm(call.id, f"drop:{subject_id}")
        await self._restart_if_pending(call, subject_id)

    async def _restart_if_pending(self, call: Call, subject_id: str) -> None:
        if subject_id in self._restart_pending.get(call.id, ()):
            # The call moved while this participant was away: its media must follow.
            await self.tell_restart(call, subject_id)

    async def _active_call_elsewhere(self, subject_id: str) -> str | None:
        """The answered call another instance holds (or held, if it died) for the subject."""
        try:
            call_id = await self._bus.engaged_call(subject_id)
            snapshot = await self._bus.load_call(call_id) if call_id else None
        except BusUnavailable:
            return None
        if snapshot is None:
            return None
        call = call_from_bytes(snapshot)
        if call.state is not CallState.ACTIVE or not call.is_participant(subject_id):
            return None
        return call.id

    async def tell_restart(self, call: Call, subject_id: str) -> None:
        """Ask a participant to offer its media again, once per socket."""
        told = self._restart_told.setdefault(call.id, set())
        if subject_id not in told:
            told.add(subject_id)
            await self.hub.send_to(subject_id, MediaRestart(call_id=call.id))

    async def end_calls_of(self, subject_id: str, reason: EndReason) -> None:
        """End the subject's call, here or on the instance that owns it."""
        call = self.call_of(subject_id)
        if call is not None:
            await self._end(call, by=None, reason=reason)
            return
        call_id = await self._bus.engaged_call(subject_id)
        owner = await self._bus.room_owner(call_id) if call_id else None
        if call_id and owner and owner != self._bus.instance_id:
            body: Body = {"subject_id": subject_id, "call_id": call_id, "reason": reason.value}
            await self._bus.request(owner, "call.end_for", body, FORWARD_TIMEOUT_S)

    async def on_media_event(self, call_id: str, subject_id: str, event: MediaEvent) -> None:
        call = self._calls.get(call_id)
        if call is None:
            return
        if event["event"] == "connected":
            pending = self._restart_pending.get(call.id)
            if pending is not None:
                pending.discard(subject_id)
                if not pending:
                    del self._restart_pending[call.id]
                    self._disarm(call.id, "restart")
            if call.media_up(subject_id, self._clock.now()):
                self._disarm(call.id, "media")
                await self._store.session_updated(call.record)
                await self.save(call)
            for subject in call.participants():
                await self.hub.send_to(
                    subject, CallMedia(call_id=call.id, subject_id=subject_id, state="connected")
                )
        elif event["event"] == "failed":
            await self._end(call, by=None, reason=EndReason.MEDIA_FAILED)
        elif (
            event["event"] == "closed"
            or event["event"] == "track_added"
            or event["event"] == "track_removed"
            or event["event"] == "renegotiation_failed"
            or event["event"] == "publish_hint"
            or event["event"] == "video_paused"
            or event["event"] == "video_resumed"
        ):
            # One-to-one: no renegotiation, no group budget; a closed connection is followed
            # by the participant's own hang-up or the drop timer.
            pass
        else:
            assert_never(event)

    async def close(self) -> None:
        """Shut down: open calls become 'interrupted' records."""
        for call in list(self._calls.values()):
            await self._end(call, by=None, reason=EndReason.INTERRUPTED)
        for task in list(self._tasks):
            task.cancel()

    # ---- requests from other instances (signaling/cluster.py) ----------------------------

    async def serve(self, op: str, body: Body) -> Body:
        """Run a participant's action that another instance forwarded to this owner."""
        call_id = str(body["call_id"])
        if op == "end_for":
            call = self._calls.get(call_id)
            if call is not None and call.is_participant(str(body["subject_id"])):
                await self._end(call, by=None, reason=EndReason(body["reason"]))
            return {"ok": True}
        who = principal_from_body(body["who"])
        sdp = body.get("sdp")
        if call_id not in self._calls:
            # Never forward a forwarded action again: the call moved or ended meanwhile.
            return error_to_body(NotFound(f"no call {call_id}"))
        try:
            match op:
                case "answer":
                    await self.answer(who, call_id)
                case "decline":
                    await self.decline(who, call_id)
                case "hang_up":
                    await self.hang_up(who, call_id)
                case "media_offer":
                    ref = body.get("ref")
                    answer = await self.media_offer(
                        who, call_id, str(sdp), ref if isinstance(ref, str) else None
                    )
                    return {"ok": True, "answer": answer}
                case "media_answer":
                    await self.media_answer(who, call_id, str(sdp))
                case _:
                    return error_to_body(InvalidState(f"unknown call action {op}"))
        except CareSessionError as exc:
            return error_to_body(exc)
        return {"ok": True}

    async def _forward(
        self,
        op: str,
        who: Principal,
        call_id: str,
        sdp: str | None = None,
        ref: str | None = None,
    ) -> Body:
        """Send a participant's action to the instance that owns the call."""
        owner = await self._bus.room_owner(call_id)
        if owner is None or owner == self._bus.instance_id:
            raise NotFound(f"no call {call_id}")
        body: Body = {"who": principal_to_body(who), "call_id": call_id, "sdp": sdp, "ref": ref}
        reply = await self._bus.request(owner, f"call.{op}", body, FORWARD_TIMEOUT_S)
        if not reply.get("ok"):
            raise error_from_body(reply)
        return reply

    async def _family_refusal(self, caller: Principal, client: Client) -> FamilyCallRefusal | None:
        if self.family is None:
            return FamilyCallRefusal(EndReason.UNAVAILABLE, "family calls are not enabled")
        return await self.family.refusal(caller, client)

    async def _preempt_family_call(self, client_id: str) -> None:
        """End the family call the client is in, on whichever instance owns it."""
        call = self.call_of(client_id)
        if call is not None:
            if call.is_family:
                await self._end(call, by=None, reason=EndReason.PREEMPTED)
            return
        engaged = await self._bus.engaged_call(client_id)
        snapshot = await self._bus.load_call(engaged) if engaged else None
        if snapshot is not None and call_from_bytes(snapshot).is_family:
            await self.end_calls_of(client_id, EndReason.PREEMPTED)

    async def _in_live_call_elsewhere(self, subject_id: str) -> bool:
        engaged = await self._bus.engaged_call(subject_id)
        return engaged is not None and await self._bus.load_call(engaged) is not None

    async def _claim(self, call: Call) -> EndReason | None:
        """Mark both people as in this call and own its room, atomically across instances."""
        await self.save(call, strict=True)
        taken = await self._bus.engage(list(call.participants()), call.id)
        if not taken and await self._bus.claim_room(call.id):
            return None
        await self._bus.release(list(call.participants()), call.id)
        await self._bus.forget_call(call.id)
        return EndReason.BUSY

    async def save(self, call: Call, *, strict: bool = False) -> None:
        """Keep the call's snapshot on the bus, where a survivor finds it if we die."""
        try:
            await self._bus.save_call(call.id, call_to_bytes(call))
        except BusUnavailable:
            if strict:
                raise
            # The bus keeps the latest snapshot and writes it again when it heals.

    async def _release(self, call: Call) -> None:
        try:
            await self._bus.release(list(call.participants()), call.id)
            await self._bus.release_room(call.id)
            await self._bus.forget_call(call.id)
        except BusUnavailable:
            log.info("call %s ended while the bus was unavailable", call.id)

    # ---- internals -----------------------------------------------------------------------

    def _participant_call(self, who: Principal, call_id: str) -> Call:
        call = self._calls.get(call_id)
        # A call that is not yours looks the same as one that does not exist: a tablet must
        # not learn which call ids are live.
        if call is None or not call.is_participant(who.subject_id):
            raise NotFound(f"no call {call_id}")
        return call

    def _room(self, call: Call) -> MediaRoomPort:
        room = self._media.room(call.id)
        if room is None:
            room = self._media.open_room(call.id, _CallMediaSignal(self, call.id))
        return room

    def adopt_local(self, call: Call, pending: set[str]) -> None:
        """Hold a call that this instance took over (care_services/call_moves.py)."""
        self._hold(call)
        call.media_connected.clear()
        self._restart_pending[call.id] = set(pending)
        if call.state is CallState.RINGING:
            self._arm(call.id, "ring", self._settings.ring_timeout_s, self._ring_timeout)
        else:
            self._arm(call.id, "restart", self._settings.media_timeout_s, self._restart_timeout)

    def arm_drop(self, call: Call, subject_id: str) -> None:
        self._arm(call.id, f"drop:{subject_id}", self._settings.drop_grace_s, self._dropped)

    async def forget_local(self, call: Call) -> None:
        """Let go of a call another instance now owns: no record update, no goodbye."""
        self._let_go(call)
        await self.hub.refresh_presence(call.client_id)
        await self._media.close_room(call.id)

    async def _end(self, call: Call, *, by: str | None, reason: EndReason) -> None:
        if call.state is CallState.ENDED:
            return
        call.end(at=self._clock.now(), by=by, reason=reason)
        self._let_go(call)
        try:
            await self._store.session_updated(call.record)
        finally:
            for subject in call.participants():
                await self.hub.send_to(subject, CallEnded(call_id=call.id, reason=reason.value))
            await self.hub.refresh_presence(call.client_id)
            await self._media.close_room(call.id)
            await self._release(call)

    def _arm(
        self,
        call_id: str,
        name: str,
        delay: float,
        action: Callable[[str, str], Coroutine[Any, Any, None]],
    ) -> None:
        self._disarm(call_id, name)
        loop = asyncio.get_running_loop()
        self._timers[(call_id, name)] = loop.call_later(
            delay, lambda: self._spawn(action(call_id, name))
        )

    def _disarm(self, call_id: str, name: str) -> None:
        timer = self._timers.pop((call_id, name), None)
        if timer is not None:
            timer.cancel()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ring_timeout(self, call_id: str, _name: str) -> None:
        self._timers.pop((call_id, _name), None)
        call = self._calls.get(call_id)
        if call is not None and call.state is CallState.RINGING:
            await self._end(call, by=None, reason=EndReason.UNANSWERED)

    async def _media_timeout(self, call_id: str, _name: str) -> None:
        self._timers.pop((call_id, _name), None)
        call = self._calls.get(call_id)
        if call is not None and call.record.media_at is None:
            await self._end(call, by=None, reason=EndReason.MEDIA_FAILED)

    async def _restart_timeout(self, call_id: str, _name: str) -> None:
        self._timers.pop((call_id, _name), None)
        call = self._calls.get(call_id)
        if call is not None and self._restart_pending.get(call_id):
            await self._end(call, by=None, reason=EndReason.MEDIA_FAILED)

    async def _dropped(self, call_id: str, name: str) -> None:
        self._timers.pop((call_id, name), None)
        call = self._calls.get(call_id)
        subject = name.split(":", 1)[1]
        if call is not None and not self.hub.is_connected(subject):
            await self._end(call, by=subject, reason=EndReason.DROPPED)


class InvalidSdpError(InvalidState):
    code = "invalid_sdp"
