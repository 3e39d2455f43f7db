"""Calls changing instance: adopted after their owner died, or handed over when it drains.

Either way the call keeps its id and its session record (one call, with one more
interruption), the room moves to the adopting instance's media server, and both participants
are told `media.restart`: they drop their peer connection and offer again, and their offers
now reach the new owner wherever their sockets are.
"""

from __future__ import annotations

import itertools
import logging

from care_services.call_snapshot import call_from_bytes
from care_services.calls import CallService
from care_services.ports import Body, BusUnavailable, CallOwnership, Notifier
from care_sessions.calls import CallState
from care_sessions.ports import CareStore

log = logging.getLogger(__name__)
HANDOFF_TIMEOUT_S = 10.0


class CallMoves:
    """Adoption and handover of calls between instances; pure bookkeeping plus messages."""

    def __init__(
        self, *, calls: CallService, hub: Notifier, bus: CallOwnership, store: CareStore
    ) -> None:
        self._calls = calls
        self._hub = hub
        self._bus = bus
        self._store = store

    async def adopt_calls_of(self, dead: str) -> list[str]:
        """Take over every call whose room a dead instance owned; returns their ids."""
        adopted = []
        for call_id in await self._bus.calls_of(dead):
            try:
                if await self.adopt(call_id, dead):
                    adopted.append(call_id)
            except BusUnavailable:
                log.warning("could not adopt call %s of %s: bus unavailable", call_id, dead)
        if adopted:
            log.warning("adopted %d call(s) of instance %s", len(adopted), dead)
        return adopted

    async def adopt(self, call_id: str, previous: str) -> bool:
        """Own the call's room instead of `previous` and carry the call on from its snapshot."""
        if self._calls.call(call_id) is not None:
            return True
        raw = await self._bus.load_call(call_id)
        if raw is None:
            return False
        if not await self._bus.claim_room(call_id, replacing=previous):
            return False
        call = call_from_bytes(raw)
        call.record.interruptions += 1
        # Who must connect media to this instance: both people once answered; while it rings,
        # only the caller (who may already have connected, and the tablet has not).
        pending = set(call.participants()) if call.state is CallState.ACTIVE else {call.caller_id}
        self._calls.adopt_local(call, pending)
        await self._hub.refresh_presence(call.client_id)
        await self._store.session_updated(call.record)
        await self._calls.save(call)
        for subject in call.participants():
            if not self._hub.is_connected(subject):
                self._calls.arm_drop(call, subject)
            elif subject in pending:
                await self._calls.tell_restart(call, subject)
        return True

    async def hand_off_all(self) -> int:
        """Give every call of this (draining) instance to a live one; returns how many moved."""
        me = self._bus.instance_id
        targets = [i for i in await self._bus.live_instances() if i != me]
        if not targets:
            return 0
        moved = 0
        ring = itertools.cycle(targets)
        for call in self._calls.live_calls():
            target = next(ring)
            await self._calls.save(call)
            body: Body = {"call_id": call.id, "from": me}
            try:
                reply = await self._bus.request(target, "calls.adopt", body, HANDOFF_TIMEOUT_S)
            except BusUnavailable:
                log.warning("instance %s did not take call %s", target, call.id)
                continue
            if reply.get("ok"):
                await self._calls.forget_local(call)
                moved += 1
        return moved
