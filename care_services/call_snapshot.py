"""Calls and principals as bytes for the bus: snapshots survivors adopt, forwarded requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from care_services.ports import BusUnavailable
from care_sessions.calls import Call, CallState
from care_sessions.errors import CareSessionError, Forbidden, InvalidState, NotFound
from care_sessions.identity import Principal, Role
from care_sessions.records import SessionKind, SessionParticipant, SessionRecord


class _Participant(msgspec.Struct, frozen=True):
    kind: str
    subject_id: str
    display_name: str


class _CallSnapshot(msgspec.Struct, frozen=True):
    """Everything a survivor needs to carry a call on; media state is rebuilt, not copied."""

    id: str
    kind: str
    client_id: str
    started_by: str
    ring_at: datetime
    participants: list[_Participant]
    caller_id: str
    caller_name: str
    client_name: str
    state: str
    answer_at: datetime | None = None
    media_at: datetime | None = None
    interruptions: int = 0


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(_CallSnapshot)


def call_to_bytes(call: Call) -> bytes:
    record = call.record
    return _encoder.encode(
        _CallSnapshot(
            id=record.id,
            kind=record.kind.value,
            client_id=record.client_id,
            started_by=record.started_by,
            ring_at=record.ring_at,
            participants=[
                _Participant(p.kind, p.subject_id, p.display_name) for p in record.participants
            ],
            caller_id=call.caller_id,
            caller_name=call.caller_name,
            client_name=call.client_name,
            state=call.state.value,
            answer_at=record.answer_at,
            media_at=record.media_at,
            interruptions=record.interruptions,
        )
    )


def call_from_bytes(raw: bytes) -> Call:
    snap = _decoder.decode(raw)
    record = SessionRecord(
        id=snap.id,
        kind=SessionKind(snap.kind),
        client_id=snap.client_id,
        started_by=snap.started_by,
        ring_at=snap.ring_at,
        participants=[
            SessionParticipant(p.kind, p.subject_id, p.display_name) for p in snap.participants
        ],
        answer_at=snap.answer_at,
        media_at=snap.media_at,
        interruptions=snap.interruptions,
    )
    return Call(
        record=record,
        caller_id=snap.caller_id,
        caller_name=snap.caller_name,
        client_id=snap.client_id,
        client_name=snap.client_name,
        state=CallState(snap.state),
    )


def principal_to_body(who: Principal) -> dict[str, Any]:
    return {
        "role": who.role.value,
        "subject_id": who.subject_id,
        "display_name": who.display_name,
        "device_id": who.device_id,
    }


def principal_from_body(body: dict[str, Any]) -> Principal:
    return Principal(
        role=Role(body["role"]),
        subject_id=str(body["subject_id"]),
        display_name=str(body["display_name"]),
        device_id=body.get("device_id"),
    )


class RemoteRefusal(CareSessionError):
    """The instance that owns a call refused a forwarded action; `code` is its error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_ERRORS: dict[str, type[CareSessionError]] = {
    "not_found": NotFound,
    "forbidden": Forbidden,
    "invalid_state": InvalidState,
    "unavailable": BusUnavailable,
}


def error_to_body(exc: CareSessionError) -> dict[str, Any]:
    return {"ok": False, "code": exc.code, "message": str(exc)}


def error_from_body(body: dict[str, Any]) -> CareSessionError:
    """The same error on this instance as the owner raised, so the client sees one protocol."""
    code, message = str(body.get("code", "internal")), str(body.get("message", ""))
    kind = _ERRORS.get(code)
    return kind(message) if kind is not None else RemoteRefusal(code, message)
