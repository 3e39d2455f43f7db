"""The lifecycle of a one-to-one care call, independent of sockets and media."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from care_sessions.errors import InvalidState
from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord


class CallState(enum.StrEnum):
    RINGING = "ringing"
    ACTIVE = "active"
    ENDED = "ended"


@dataclass
class Call:
    """A staff member calling a client's tablet; the record is the persisted view of it."""

    record: SessionRecord
    caller_id: str
    caller_name: str
    client_id: str
    client_name: str
    state: CallState = CallState.RINGING
    media_connected: set[str] = field(default_factory=set)

    @property
    def id(self) -> str:
        return self.record.id

    @classmethod
    def ring(
        cls,
        *,
        call_id: str,
        kind: SessionKind,
        caller_id: str,
        caller_name: str,
        client_id: str,
        client_name: str,
        at: datetime,
    ) -> Call:
        record = SessionRecord(
            id=call_id,
            kind=kind,
            client_id=client_id,
            started_by=caller_id,
            ring_at=at,
            participants=[
                SessionParticipant(
                    "family" if kind is SessionKind.FAMILY_CALL else "staff",
                    caller_id,
                    caller_name,
                ),
                SessionParticipant("client", client_id, client_name),
            ],
        )
        return cls(record, caller_id, caller_name, client_id, client_name)

    @property
    def is_family(self) -> bool:
        return self.record.kind is SessionKind.FAMILY_CALL

    def participants(self) -> tuple[str, str]:
        return (self.caller_id, self.client_id)

    def is_participant(self, subject_id: str) -> bool:
        return subject_id in (self.caller_id, self.client_id)

    def answer(self, at: datetime) -> None:
        if self.state is not CallState.RINGING:
            raise InvalidState(f"call {self.id} is {self.state}, it cannot be answered")
        self.state = CallState.ACTIVE
        self.record.answer_at = at

    def media_up(self, subject_id: str, at: datetime) -> bool:
        """Note one end's media; True the first time both ends are connected."""
        self.media_connected.add(subject_id)
        if self.record.media_at is None and self.media_connected >= set(self.participants()):
            self.record.media_at = at
            return True
        return False

    def end(self, *, at: datetime, by: str | None, reason: EndReason) -> None:
        if self.state is CallState.ENDED:
            raise InvalidState(f"call {self.id} has already ended")
        self.state = CallState.ENDED
        self.record.end_at = at
        self.record.ended_by = by
        self.record.end_reason = reason


def reason_for_hangup(call: Call, by: str) -> EndReason:
    """What it means when a participant ends the call in its current state."""
    if call.state is CallState.ACTIVE:
        return EndReason.COMPLETED
    return EndReason.DECLINED if by == call.client_id else EndReason.CANCELLED
