"""The consent ledger: per purpose, versioned, withdrawable, with its whole history."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from care_sessions.clock import Clock
from care_sessions.errors import Forbidden
from care_sessions.identity import Principal


class ConsentPurpose(enum.StrEnum):
    RECORDING = "recording"
    FAMILY_CALLS = "family_calls"
    REPORTS = "reports"
    SHARE_WITH_RELATIVES = "share_with_relatives"


@dataclass(frozen=True)
class ConsentRecord:
    """One decision; the newest record of a purpose is the consent in force."""

    id: str
    client_id: str
    purpose: ConsentPurpose
    granted: bool
    version: int
    recorded_at: datetime
    recorded_by: str  # staff id, or the client id when the client decided on the tablet
    note: str = ""


class ConsentStore(Protocol):
    async def append_consent(self, record: ConsentRecord) -> None:
        """Appends; raises InvalidState if the version is already taken (a race)."""
        ...

    async def consent_history(self, client_id: str) -> list[ConsentRecord]: ...


class ConsentRequired(Forbidden):
    code = "consent_required"


class ConsentLedger:
    """Records decisions and answers 'is this allowed now?' from the newest one."""

    def __init__(self, store: ConsentStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def decide(
        self,
        client_id: str,
        purpose: ConsentPurpose,
        granted: bool,
        by: Principal,
        note: str = "",
    ) -> ConsentRecord:
        history = await self._store.consent_history(client_id)
        version = 1 + max((r.version for r in history if r.purpose is purpose), default=0)
        record = ConsentRecord(
            id=str(uuid.uuid4()),
            client_id=client_id,
            purpose=purpose,
            granted=granted,
            version=version,
            recorded_at=self._clock.now(),
            recorded_by=by.subject_id,
            note=note[:500],
        )
        await self._store.append_consent(record)
        return record

    async def current(self, client_id: str) -> dict[ConsentPurpose, ConsentRecord]:
        latest: dict[ConsentPurpose, ConsentRecord] = {}
        for record in await self._store.consent_history(client_id):
            held = latest.get(record.purpose)
            if held is None or record.version > held.version:
                latest[record.purpose] = record
        return latest

    async def allows(self, client_id: str, purpose: ConsentPurpose) -> bool:
        """No record means no consent: nothing is assumed."""
        record = (await self.current(client_id)).get(purpose)
        return record is not None and record.granted

    async def require(self, client_id: str, purpose: ConsentPurpose) -> None:
        if not await self.allows(client_id, purpose):
            raise ConsentRequired(f"the client has not consented to {purpose.value}")

    async def history(self, client_id: str) -> list[ConsentRecord]:
        return await self._store.consent_history(client_id)
