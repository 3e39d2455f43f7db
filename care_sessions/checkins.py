"""Concrete check-ins: one scheduled occurrence of a plan item, its state, and its outcome.

The lifecycle is scheduled -> due -> done, or due -> missed -> (rings again) -> escalated ->
home visit, and from any open state -> done when someone records an outcome. followup.py
decides the timed steps; this module decides what an outcome may be and who may record it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from care_sessions.care_plans import (
    GLUCOSE_PLAUSIBLE_MMOL_L,
    KIND_SPECS,
    CheckinKind,
    Completer,
    KindSpec,
    Outcome,
)
from care_sessions.errors import Forbidden, InvalidInput, InvalidState
from care_sessions.identity import Role

NOTE_MAX = 500


class CheckinStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    DUE = "due"
    MISSED = "missed"
    ESCALATED = "escalated"
    HOME_VISIT = "home_visit"
    DONE = "done"
    CLOSED = "closed"  # a nurse closed its follow-up without an outcome, with a note
    CANCELLED = "cancelled"


# Waiting for someone: the tablet shows these, the nurses' day list highlights them.
OPEN_STATUSES = frozenset(
    {CheckinStatus.DUE, CheckinStatus.MISSED, CheckinStatus.ESCALATED, CheckinStatus.HOME_VISIT}
)
FINAL_STATUSES = frozenset({CheckinStatus.DONE, CheckinStatus.CLOSED, CheckinStatus.CANCELLED})


@dataclass(frozen=True)
class Checkin:
    """One occurrence: "Aino's evening medicine on 2026-11-30 at 18:00"."""

    id: str
    client_id: str
    plan_item_id: str
    kind: CheckinKind
    label: str
    detail: str
    local_date: date  # the Helsinki day it belongs to
    local_time: time  # as planned, e.g. 18:00; also how "the same time of day" is compared
    scheduled_at: datetime  # UTC instant of local_date + local_time in Europe/Helsinki
    window: timedelta
    completed_by: Completer
    remind: bool
    status: CheckinStatus = CheckinStatus.SCHEDULED
    attempts: int = 0  # how many times the tablet rang again after the window passed
    next_action_at: datetime | None = None
    due_at: datetime | None = None
    missed_at: datetime | None = None
    escalated_at: datetime | None = None
    home_visit_at: datetime | None = None
    done_at: datetime | None = None
    done_by: str | None = None
    outcome: Outcome | None = None

    @property
    def opens_at(self) -> datetime:
        return self.scheduled_at - self.window

    @property
    def closes_at(self) -> datetime:
        return self.scheduled_at + self.window

    @property
    def spec(self) -> KindSpec:
        return KIND_SPECS[self.kind]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def reminds_tablet(self) -> bool:
        """The tablet alerts the client when it falls due (retries ring whatever this says)."""
        return self.remind and self.completed_by is Completer.CLIENT

    @property
    def time_text(self) -> str:
        return self.local_time.strftime("%H:%M")


@dataclass(frozen=True)
class Actor:
    """Who made a transition: a person (id and role) or the scheduler (no id)."""

    role: str  # "system", "tablet", "nurse", "admin"
    subject_id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


@dataclass(frozen=True)
class CheckinEvent:
    """One stored transition; the detail never holds a health value or a note."""

    checkin_id: str
    at: datetime
    from_status: CheckinStatus
    to_status: CheckinStatus
    actor: Actor
    detail: str = ""


@dataclass(frozen=True)
class OutcomeInput:
    """What a tablet or a nurse submits; validated against the check-in's kind."""

    outcome: Outcome
    glucose_mmol_l: float | None = None
    note: str = ""


@dataclass(frozen=True)
class RecordedOutcome:
    checkin_id: str
    client_id: str
    outcome: Outcome
    glucose_mmol_l: float | None
    note: str
    recorded_by: str
    recorded_role: str
    recorded_at: datetime


@dataclass(frozen=True)
class OutcomeDecision:
    """The result of recording: `new` is False for a repeat, which changes nothing."""

    checkin: Checkin
    recorded: RecordedOutcome | None
    new: bool
    event: CheckinEvent | None = None


def validate_outcome(kind: CheckinKind, given: OutcomeInput) -> None:
    spec = KIND_SPECS[kind]
    if given.outcome not in spec.outcomes:
        allowed = ", ".join(spec.outcomes)
        raise InvalidInput(f"a {kind} check-in takes one of: {allowed}")
    value = given.glucose_mmol_l
    if spec.measures_glucose and given.outcome is Outcome.MEASURED:
        low, high = GLUCOSE_PLAUSIBLE_MMOL_L
        if value is None:
            raise InvalidInput("a measured blood sugar needs its value in mmol/L")
        if not low <= value <= high:
            raise InvalidInput(f"blood sugar must be {low}-{high} mmol/L; check the value")
    elif value is not None:
        raise InvalidInput("only a measured blood sugar carries a value")
    if len(given.note) > NOTE_MAX:
        raise InvalidInput(f"a note can be at most {NOTE_MAX} characters")


def record_outcome(
    checkin: Checkin, given: OutcomeInput, *, by: str, role: Role, at: datetime
) -> OutcomeDecision:
    """Close a check-in with an outcome; a repeat of the same outcome is a no-op.

    Tablets may only confirm their own client's open check-ins with the kind's positive
    outcome; nurses may record any outcome the kind allows, also before it falls due.
    """
    if role is Role.TABLET:
        if by != checkin.client_id:
            raise Forbidden("a tablet confirms only its own client's check-ins")
        if checkin.completed_by is not Completer.CLIENT:
            raise Forbidden("a nurse completes this check-in")
        if given.outcome is not checkin.spec.positive or given.note:
            raise InvalidInput(f"a tablet can only confirm '{checkin.spec.positive}'")
    elif role not in (Role.NURSE, Role.ADMIN):
        raise Forbidden(f"{role} may not record check-in outcomes")
    validate_outcome(checkin.kind, given)

    if checkin.status is CheckinStatus.DONE:
        if checkin.outcome is given.outcome:
            return OutcomeDecision(checkin, None, new=False)
        raise InvalidState(f"this check-in was already recorded as {checkin.outcome}")
    if checkin.status is CheckinStatus.CANCELLED:
        raise InvalidState("this check-in was removed from the care plan")
    if checkin.status is CheckinStatus.CLOSED:
        raise InvalidState("this check-in's follow-up was closed without an outcome")
    if checkin.status is CheckinStatus.SCHEDULED and role is Role.TABLET:
        raise InvalidState("this check-in is not due yet")

    actor_role = "tablet" if role is Role.TABLET else str(role)
    after = replace(
        checkin,
        status=CheckinStatus.DONE,
        next_action_at=None,
        done_at=at,
        done_by=by,
        outcome=given.outcome,
    )
    recorded = RecordedOutcome(
        checkin_id=checkin.id,
        client_id=checkin.client_id,
        outcome=given.outcome,
        glucose_mmol_l=given.glucose_mmol_l,
        note=given.note.strip(),
        recorded_by=by,
        recorded_role=actor_role,
        recorded_at=at,
    )
    event = CheckinEvent(
        checkin.id,
        at,
        checkin.status,
        CheckinStatus.DONE,
        Actor(actor_role, by),
        "outcome recorded",
    )
    return OutcomeDecision(after, recorded, new=True, event=event)


def cancel(checkin: Checkin, *, at: datetime, by: Actor) -> tuple[Checkin, CheckinEvent]:
    """A plan item that ends takes its not-yet-due check-ins with it."""
    if checkin.status is not CheckinStatus.SCHEDULED:
        raise InvalidState("only a check-in that is not due yet can be cancelled")
    after = replace(checkin, status=CheckinStatus.CANCELLED, next_action_at=None)
    return after, CheckinEvent(
        checkin.id, at, checkin.status, after.status, by, "removed from the plan"
    )


def close_without_outcome(
    checkin: Checkin, *, by: str, role: Role, at: datetime
) -> tuple[Checkin, CheckinEvent]:
    """End an open check-in's follow-up when no outcome can be known ("in hospital")."""
    if role not in (Role.NURSE, Role.ADMIN):
        raise Forbidden(f"{role} may not close check-ins")
    if not checkin.is_open:
        raise InvalidState(f"this check-in is {checkin.status}, not open")
    after = replace(checkin, status=CheckinStatus.CLOSED, next_action_at=None)
    return after, CheckinEvent(
        checkin.id, at, checkin.status, after.status, Actor(str(role), by), "closed with a note"
    )
