"""The call state machine: who may do what in which state, and what the record says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from care_sessions.calls import Call, CallState, reason_for_hangup
from care_sessions.errors import InvalidState
from care_sessions.records import EndReason, SessionKind

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _call() -> Call:
    return Call.ring(
        call_id="c1",
        kind=SessionKind.CALL,
        caller_id="nurse",
        caller_name="Nina",
        client_id="client",
        client_name="Aino K.",
        at=T0,
    )


def test_ringing_call_has_both_participants_in_its_record() -> None:
    call = _call()
    assert call.state is CallState.RINGING
    assert [p.subject_id for p in call.record.participants] == ["nurse", "client"]
    assert call.record.ring_at == T0


def test_answer_then_end_is_completed_with_duration() -> None:
    call = _call()
    call.answer(T0 + timedelta(seconds=3))
    assert reason_for_hangup(call, "client") is EndReason.COMPLETED
    call.end(at=T0 + timedelta(seconds=63), by="client", reason=EndReason.COMPLETED)
    assert call.record.duration_s == 60
    assert call.record.ended_by == "client"


def test_hanging_up_while_ringing_is_declined_or_cancelled() -> None:
    call = _call()
    assert reason_for_hangup(call, "client") is EndReason.DECLINED
    assert reason_for_hangup(call, "nurse") is EndReason.CANCELLED


def test_cannot_answer_twice_or_end_twice() -> None:
    call = _call()
    call.answer(T0)
    with pytest.raises(InvalidState):
        call.answer(T0)
    call.end(at=T0, by=None, reason=EndReason.DROPPED)
    with pytest.raises(InvalidState):
        call.end(at=T0, by=None, reason=EndReason.DROPPED)


def test_media_up_reports_once_when_both_ends_are_connected() -> None:
    call = _call()
    assert not call.media_up("nurse", T0)
    assert call.media_up("client", T0 + timedelta(seconds=1))
    assert not call.media_up("client", T0 + timedelta(seconds=2))
    assert call.record.media_at == T0 + timedelta(seconds=1)
