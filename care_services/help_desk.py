"""The help-call queue: a tablet's one-touch "Call nurse" and the nurse who takes it."""

from __future__ import annotations

import uuid

from care_services.calls import CallService
from care_services.ports import Notifier
from care_sessions.clock import Clock
from care_sessions.errors import InvalidState, NotFound
from care_sessions.help_requests import HelpRequest
from care_sessions.identity import Principal, Role
from care_sessions.ports import CareStore
from care_sessions.records import SessionKind
from protocol.messages import HelpClosed, HelpEntry, HelpQueue, HelpQueued

STAFF_WHO_TAKE_HELP = (Role.NURSE, Role.ADMIN)


class HelpDesk:
    """Queues help requests durably and turns a taken one into a help call."""

    def __init__(self, store: CareStore, clock: Clock, hub: Notifier, calls: CallService) -> None:
        self._store = store
        self._clock = clock
        self._hub = hub
        self._calls = calls

    async def request(self, tablet: Principal, ref: str | None = None) -> HelpRequest:
        """Idempotent: pressing the button again while waiting keeps one place in the queue."""
        client_id = tablet.subject_id
        for existing in await self._store.open_help_requests():
            if existing.client_id == client_id:
                await self._hub.send_to(client_id, HelpQueued(ref=ref, help_id=existing.id))
                return existing
        request = HelpRequest(
            id=str(uuid.uuid4()), client_id=client_id, created_at=self._clock.now()
        )
        await self._store.add_help_request(request)
        await self._hub.send_to(client_id, HelpQueued(ref=ref, help_id=request.id))
        await self.broadcast_queue()
        return request

    async def cancel(self, tablet: Principal) -> None:
        for existing in await self._store.open_help_requests():
            if existing.client_id == tablet.subject_id:
                await self._store.cancel_help_request(existing.id, self._clock.now())
                await self._hub.broadcast_staff(
                    HelpClosed(help_id=existing.id), STAFF_WHO_TAKE_HELP
                )

    async def take(self, nurse: Principal, help_id: str, ref: str | None = None) -> None:
        """First nurse wins; the others see the request leave their queue."""
        if self._calls.call_of(nurse.subject_id) is not None:
            raise InvalidState("you are already in a call; end it first")
        open_requests = {r.id: r for r in await self._store.open_help_requests()}
        request = open_requests.get(help_id)
        if request is None:
            # Unknown, taken or cancelled: not in the queue this nurse may take from.
            raise NotFound(f"no open help request {help_id} (taken, cancelled or never made)")
        call_id = str(uuid.uuid4())
        await self._store.take_help_request(help_id, nurse.subject_id, self._clock.now(), call_id)
        await self._hub.broadcast_staff(
            HelpClosed(help_id=help_id, taken_by=nurse.display_name), STAFF_WHO_TAKE_HELP
        )
        await self._calls.start(
            nurse, request.client_id, kind=SessionKind.HELP_CALL, call_id=call_id, ref=ref
        )

    async def queue_message(self) -> HelpQueue:
        requests = await self._store.open_help_requests()
        names = {c.id: c.display_name for c in await self._store.list_clients()}
        return HelpQueue(
            requests=[
                HelpEntry(
                    help_id=r.id,
                    client_id=r.client_id,
                    client_name=names.get(r.client_id, ""),
                    created_at=r.created_at.isoformat(),
                )
                for r in requests
            ]
        )

    async def broadcast_queue(self) -> None:
        await self._hub.broadcast_staff(await self.queue_message(), STAFF_WHO_TAKE_HELP)
