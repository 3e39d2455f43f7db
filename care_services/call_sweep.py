"""The open-call sweep: no session record stays open once no instance holds its call.

Adoption (care_services/call_moves.py) carries a dead instance's calls on; this sweep is the net
under it. Every few seconds each instance looks at the records still open, and closes, with
the end reason `orphaned`, those whose call no live instance owns and no reaper is about to
adopt (the bus decides that atomically, `Bus.claim_orphan`). Both people are told
`call.ended`, their engaged marks and the call's snapshot go, so nobody stays "in a call".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from care_services.calls import CallService
from care_services.ports import BusUnavailable, CallOwnership, Notifier
from care_sessions.clock import Clock
from care_sessions.records import EndReason, SessionRecord
from protocol.messages import CallEnded

log = logging.getLogger(__name__)


class OpenCallRows(Protocol):
    """Where the sweep finds open records and closes them (store/session_sweep.py)."""

    async def open_calls(self, started_before: datetime, limit: int = 100) -> list[SessionRecord]:
        """Records without an end whose call rang before `started_before`."""
        ...

    async def close_orphaned(self, session_id: str, at: datetime) -> bool:
        """End a record as orphaned unless it was ended meanwhile; True if this did."""
        ...


@dataclass(frozen=True)
class SweepSettings:
    every_s: float
    # A call younger than this may still be claiming its room: never sweep it.
    grace_s: float


class CallSweep:
    """Closes the records of calls that no instance holds any more."""

    def __init__(
        self,
        *,
        rows: OpenCallRows,
        calls: CallService,
        hub: Notifier,
        bus: CallOwnership,
        clock: Clock,
        settings: SweepSettings,
    ) -> None:
        self._rows = rows
        self._calls = calls
        self._hub = hub
        self._bus = bus
        self._clock = clock
        self._settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._settings.every_s)
            try:
                await self.sweep_once()
            except BusUnavailable:
                pass  # the bus heals by itself; the next round sweeps what is left
            except Exception:
                log.exception("open-call sweep failed")

    async def sweep_once(self) -> list[str]:
        """Close every open record whose call nobody holds; returns their ids."""
        if not self._bus.healthy:
            return []
        now = self._clock.now()
        before = now - timedelta(seconds=self._settings.grace_s)
        closed = []
        for record in await self._rows.open_calls(before):
            if self._calls.call(record.id) is not None:
                continue
            if not await self._bus.claim_orphan(record.id):
                continue
            try:
                if await self._close(record, now):
                    closed.append(record.id)
            finally:
                await self._bus.release_room(record.id)
        if closed:
            log.warning("closed %d call(s) no instance held: %s", len(closed), closed)
        return closed

    async def _close(self, record: SessionRecord, now: datetime) -> bool:
        people = [p.subject_id for p in record.participants]
        ended = await self._rows.close_orphaned(record.id, now)
        await self._bus.release(people, record.id)
        await self._bus.forget_call(record.id)
        if ended:
            reason = EndReason.ORPHANED.value
            for subject in people:
                await self._hub.send_to(subject, CallEnded(call_id=record.id, reason=reason))
            await self._hub.refresh_presence(record.client_id)
        return ended
