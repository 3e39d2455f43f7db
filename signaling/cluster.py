"""What this instance does with what the bus brings from the others (the BusListener).

A thin router: deliveries and staff messages go to the hub's local sockets, location and
call-flag changes to the hub's presence and to the call service (a participant of a call
owned here may have left or come back elsewhere), requests to the service they name, and a
dead instance's calls to CallMoves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from care_services.call_moves import CallMoves
from care_services.calls import CallService
from signaling.bus import Body, CallFlag, Location
from signaling.hub import SignalingHub

log = logging.getLogger(__name__)
RequestHandler = Callable[[Body], Awaitable[Body]]


class ClusterLink:
    """The signaling.bus.BusListener of one instance."""

    def __init__(self, *, hub: SignalingHub, calls: CallService, moves: CallMoves) -> None:
        self._hub = hub
        self._calls = calls
        self._moves = moves
        self._handlers: dict[str, RequestHandler] = {
            "calls.adopt": self._adopt,
        }

    def handle(self, op: str, handler: RequestHandler) -> None:
        """Serve another kind of request (e.g. device revocation, from the runtime)."""
        self._handlers[op] = handler

    async def on_deliver(self, subject_id: str, text: str) -> None:
        await self._hub.deliver_local(subject_id, text)

    async def on_staff(self, text: str, roles: frozenset[str]) -> None:
        await self._hub.staff_local(text, roles)

    async def on_location(self, event: Location) -> None:
        await self._hub.remote_location(event)
        if event.up:
            await self._calls.subject_back(event.subject_id)
        else:
            await self._calls.subject_gone(event.subject_id)

    async def on_call_flag(self, event: CallFlag) -> None:
        await self._hub.reconsider([event.client_id])

    async def on_request(self, op: str, body: Body) -> Body:
        if op.startswith("call."):
            return await self._calls.serve(op.removeprefix("call."), body)
        handler = self._handlers.get(op)
        if handler is None:
            return {"ok": False, "code": "invalid_state", "message": f"unknown request {op}"}
        return await handler(body)

    async def on_instance_lost(self, instance_id: str) -> None:
        await self._moves.adopt_calls_of(instance_id)

    async def on_resynced(self, subjects: set[str]) -> None:
        await self._hub.reconsider(subjects)
        for subject in subjects:
            if self._hub.is_connected(subject):
                await self._calls.subject_back(subject)
            else:
                await self._calls.subject_gone(subject)

    async def on_rooms_lost(self, room_ids: set[str]) -> None:
        for room_id in room_ids:
            call = self._calls.call(room_id)
            if call is not None:
                log.warning("call %s is owned by another instance now; letting go", room_id)
                await self._calls.forget_local(call)

    async def _adopt(self, body: Body) -> Body:
        adopted = await self._moves.adopt(str(body["call_id"]), str(body["from"]))
        return {"ok": adopted}
