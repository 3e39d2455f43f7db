"""Recording outcomes: who may record what, validation of values, and idempotent repeats."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time

import pytest

from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, Completer, Outcome, PlanItem
from care_sessions.checkins import (
    Actor,
    Checkin,
    CheckinStatus,
    OutcomeInput,
    cancel,
    record_outcome,
)
from care_sessions.errors import Forbidden, InvalidInput, InvalidState
from care_sessions.identity import Role
from care_sessions.schedule import at_local, expand_day

DAY = date(2026, 11, 30)
AT = at_local(DAY, time(18, 5))


def _checkin(kind: CheckinKind = CheckinKind.MEDICATION, **changes: object) -> Checkin:
    item = PlanItem(
        id="item-1",
        client_id="client-1",
        kind=kind,
        label="evening medicine",
        weekdays=ALL_WEEKDAYS,
        times=(time(18, 0),),
        medication="Metformin" if kind is CheckinKind.MEDICATION else "",
        dose="500 mg" if kind is CheckinKind.MEDICATION else "",
        completed_by=Completer.NURSE if kind is CheckinKind.VISIT else Completer.CLIENT,
    )
    checkin = expand_day(item, DAY)[0]
    return replace(checkin, **{"status": CheckinStatus.DUE, **changes})  # type: ignore[arg-type]


def test_tablet_confirms_its_own_due_medicine() -> None:
    decision = record_outcome(
        _checkin(), OutcomeInput(Outcome.TAKEN), by="client-1", role=Role.TABLET, at=AT
    )
    assert decision.new
    assert decision.checkin.status is CheckinStatus.DONE
    assert decision.checkin.outcome is Outcome.TAKEN
    assert decision.checkin.next_action_at is None
    assert decision.recorded is not None and decision.recorded.recorded_role == "tablet"
    assert decision.event is not None and decision.event.actor == Actor("tablet", "client-1")
    assert "Metformin" not in decision.event.detail, "events carry no health details"


def test_a_repeated_taken_is_a_no_op() -> None:
    """A double tap, a resent message or a second server: 'taken' counts once."""
    first = record_outcome(
        _checkin(), OutcomeInput(Outcome.TAKEN), by="client-1", role=Role.TABLET, at=AT
    )
    again = record_outcome(
        first.checkin, OutcomeInput(Outcome.TAKEN), by="client-1", role=Role.TABLET, at=AT
    )
    assert not again.new
    assert again.recorded is None and again.event is None
    assert again.checkin == first.checkin
    by_nurse = record_outcome(
        first.checkin, OutcomeInput(Outcome.TAKEN), by="nurse-1", role=Role.NURSE, at=AT
    )
    assert not by_nurse.new


def test_a_different_outcome_after_done_is_refused() -> None:
    done = record_outcome(
        _checkin(), OutcomeInput(Outcome.TAKEN), by="client-1", role=Role.TABLET, at=AT
    ).checkin
    with pytest.raises(InvalidState, match="already recorded as taken"):
        record_outcome(done, OutcomeInput(Outcome.REFUSED), by="n", role=Role.NURSE, at=AT)


def test_tablet_may_not_confirm_someone_elses_or_a_nurses_checkin() -> None:
    with pytest.raises(Forbidden):
        record_outcome(
            _checkin(), OutcomeInput(Outcome.TAKEN), by="client-2", role=Role.TABLET, at=AT
        )
    with pytest.raises(Forbidden):
        record_outcome(
            _checkin(CheckinKind.VISIT),
            OutcomeInput(Outcome.DONE),
            by="client-1",
            role=Role.TABLET,
            at=AT,
        )
    with pytest.raises(InvalidInput):
        record_outcome(
            _checkin(), OutcomeInput(Outcome.REFUSED), by="client-1", role=Role.TABLET, at=AT
        )
    with pytest.raises(Forbidden):
        record_outcome(_checkin(), OutcomeInput(Outcome.TAKEN), by="h", role=Role.HOST, at=AT)


def test_tablet_cannot_confirm_before_due_but_a_nurse_can() -> None:
    early = _checkin(status=CheckinStatus.SCHEDULED)
    with pytest.raises(InvalidState, match="not due yet"):
        record_outcome(early, OutcomeInput(Outcome.TAKEN), by="client-1", role=Role.TABLET, at=AT)
    decision = record_outcome(
        early, OutcomeInput(Outcome.TAKEN, note="took it at lunch"), by="n", role=Role.NURSE, at=AT
    )
    assert decision.checkin.status is CheckinStatus.DONE
    assert decision.recorded is not None and decision.recorded.note == "took it at lunch"


@pytest.mark.parametrize("status", [CheckinStatus.MISSED, CheckinStatus.ESCALATED])
def test_late_outcomes_close_followed_up_checkins(status: CheckinStatus) -> None:
    checkin = _checkin(status=status, attempts=2, next_action_at=AT)
    decision = record_outcome(
        checkin, OutcomeInput(Outcome.NOT_TAKEN), by="n", role=Role.NURSE, at=AT
    )
    assert decision.checkin.status is CheckinStatus.DONE
    assert decision.event is not None and decision.event.from_status is status


def test_glucose_values_are_checked_for_plausibility() -> None:
    checkin = _checkin(CheckinKind.GLUCOSE)
    ok = record_outcome(
        checkin, OutcomeInput(Outcome.MEASURED, 6.4), by="client-1", role=Role.TABLET, at=AT
    )
    assert ok.recorded is not None and ok.recorded.glucose_mmol_l == 6.4
    for value in (None, 0.2, 64.0):
        with pytest.raises(InvalidInput, match="mmol/L"):
            record_outcome(
                checkin, OutcomeInput(Outcome.MEASURED, value), by="n", role=Role.NURSE, at=AT
            )
    with pytest.raises(InvalidInput, match="only a measured blood sugar"):
        record_outcome(_checkin(), OutcomeInput(Outcome.TAKEN, 5.0), by="n", role=Role.NURSE, at=AT)


def test_outcome_must_fit_the_kind() -> None:
    with pytest.raises(InvalidInput, match="medication check-in takes one of"):
        record_outcome(_checkin(), OutcomeInput(Outcome.MEASURED), by="n", role=Role.NURSE, at=AT)


def test_cancelled_checkins_take_no_outcome_and_only_scheduled_ones_cancel() -> None:
    scheduled = _checkin(status=CheckinStatus.SCHEDULED)
    cancelled, event = cancel(scheduled, at=AT, by=Actor("nurse", "n"))
    assert cancelled.status is CheckinStatus.CANCELLED and event.to_status is cancelled.status
    with pytest.raises(InvalidState):
        record_outcome(cancelled, OutcomeInput(Outcome.TAKEN), by="n", role=Role.NURSE, at=AT)
    with pytest.raises(InvalidState):
        cancel(_checkin(), at=AT, by=Actor("nurse", "n"))


def test_notes_are_limited() -> None:
    with pytest.raises(InvalidInput, match="500"):
        record_outcome(
            _checkin(), OutcomeInput(Outcome.TAKEN, note="x" * 501), by="n", role=Role.NURSE, at=AT
        )


def test_times_are_aware() -> None:
    assert isinstance(AT, datetime) and AT.tzinfo is not None
