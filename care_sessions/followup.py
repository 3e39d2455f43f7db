"""Proactive follow-up: what happens when, to a check-in nobody has closed.

Every open check-in carries `next_action_at`. When the clock reaches it, next_step() says
what the check-in becomes and what the service must do about it:

    scheduled --opens_at--> due            (tablet reminder, if the plan says so)
    due       --closes_at-> missed         (the tablet rings again: retry 1)
    missed    --+interval-> missed         (rings again: retry 2 ... retries)
    missed    --+interval-> escalated      (a task in the nurses' queue)
    escalated --+home_visit_after-> home_visit (a task for on-site home care)

A nurse-completed check-in has no tablet to ring: it escalates as soon as it is missed.
Deadlines after the first are counted from when the step really ran, so a server that was
down at 18:30 still rings the tablet when it comes back instead of escalating at once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from care_sessions.care_plans import Completer
from care_sessions.checkins import Actor, Checkin, CheckinEvent, CheckinStatus
from care_sessions.schedule import HELSINKI


class Action(enum.StrEnum):
    NONE = "none"
    REMIND = "remind"  # show the reminder on the tablet
    RING_AGAIN = "ring_again"  # ring the tablet: the window passed unconfirmed
    ESCALATE = "escalate"  # a task in the nurses' escalation queue
    HOME_VISIT = "home_visit"  # someone must go and see


@dataclass(frozen=True)
class FollowupPolicy:
    """The retry policy and escalation timings ([care] in hoiva.toml)."""

    retries: int = 2
    retry_interval: timedelta = timedelta(minutes=10)
    home_visit_after: timedelta = timedelta(minutes=60)

    def retries_for(self, checkin: Checkin) -> int:
        return self.retries if checkin.completed_by is Completer.CLIENT else 0


@dataclass(frozen=True)
class Step:
    """One timed transition; the store applies it only if `before` is still current."""

    before: Checkin
    after: Checkin
    action: Action
    event: CheckinEvent


def next_step(checkin: Checkin, now: datetime, policy: FollowupPolicy) -> Step | None:
    """The transition due at `now`, or None while the next deadline is still ahead."""
    deadline = checkin.next_action_at
    if deadline is None or now < deadline or checkin.status not in _STEPS:
        return None
    return _STEPS[checkin.status](checkin, deadline, now, policy)


def _became_due(c: Checkin, deadline: datetime, now: datetime, policy: FollowupPolicy) -> Step:
    after = replace(c, status=CheckinStatus.DUE, due_at=deadline, next_action_at=c.closes_at)
    action = Action.REMIND if c.reminds_tablet else Action.NONE
    return _step(c, after, action, now, "window opened")


def _window_passed(c: Checkin, deadline: datetime, now: datetime, policy: FollowupPolicy) -> Step:
    retries = policy.retries_for(c)
    if retries == 0:
        after = replace(c, status=CheckinStatus.MISSED, missed_at=deadline, next_action_at=now)
        return _step(c, after, Action.NONE, now, "window passed")
    after = replace(
        c,
        status=CheckinStatus.MISSED,
        missed_at=deadline,
        attempts=1,
        next_action_at=now + policy.retry_interval,
    )
    return _step(c, after, Action.RING_AGAIN, now, f"window passed; rang again (1 of {retries})")


def _still_missed(c: Checkin, deadline: datetime, now: datetime, policy: FollowupPolicy) -> Step:
    retries = policy.retries_for(c)
    if c.attempts < retries:
        attempt = c.attempts + 1
        after = replace(c, attempts=attempt, next_action_at=now + policy.retry_interval)
        return _step(c, after, Action.RING_AGAIN, now, f"rang again ({attempt} of {retries})")
    after = replace(
        c,
        status=CheckinStatus.ESCALATED,
        escalated_at=now,
        next_action_at=now + policy.home_visit_after,
    )
    return _step(c, after, Action.ESCALATE, now, "escalated to the nurses")


def _unresolved(c: Checkin, deadline: datetime, now: datetime, policy: FollowupPolicy) -> Step:
    after = replace(c, status=CheckinStatus.HOME_VISIT, home_visit_at=now, next_action_at=None)
    return _step(c, after, Action.HOME_VISIT, now, "home visit requested")


def _step(before: Checkin, after: Checkin, action: Action, now: datetime, detail: str) -> Step:
    event = CheckinEvent(before.id, now, before.status, after.status, Actor.system(), detail)
    return Step(before, after, action, event)


_STEPS = {
    CheckinStatus.SCHEDULED: _became_due,
    CheckinStatus.DUE: _window_passed,
    CheckinStatus.MISSED: _still_missed,
    CheckinStatus.ESCALATED: _unresolved,
}


def steps_until(checkin: Checkin, now: datetime, policy: FollowupPolicy) -> list[Step]:
    """Every step due at `now`, in order (a server catching up may owe more than one)."""
    steps = []
    current = checkin
    while (step := next_step(current, now, policy)) is not None:
        steps.append(step)
        current = step.after
    return steps


# ---- what the nurses read ----------------------------------------------------------------


@dataclass(frozen=True)
class TabletState:
    """The client's tablet as signaling sees it when the task is written."""

    online: bool
    offline_since: datetime | None = None


def escalation_text(client_name: str, checkin: Checkin, tablet: TabletState) -> str:
    """ "Aino K. has not confirmed the 18:00 evening medicine; tablet offline since 17:42"."""
    what = f"{checkin.time_text} {checkin.label}"
    if checkin.completed_by is Completer.NURSE:
        head = f"{client_name}: the {what} was not recorded by a nurse"
    else:
        head = f"{client_name} has not confirmed the {what}"
    if tablet.online:
        tail = "tablet online, rang without an answer"
    elif tablet.offline_since is not None:
        tail = f"tablet offline since {tablet.offline_since.astimezone(HELSINKI):%H:%M}"
    else:
        tail = "tablet offline"
    return f"{head}; {tail}"


def home_visit_text(client_name: str, checkin: Checkin) -> str:
    return (
        f"Home visit needed: {client_name}'s {checkin.time_text} {checkin.label} is still "
        "unresolved"
    )


# ---- tasks ---------------------------------------------------------------------------------


class EscalationStage(enum.StrEnum):
    NURSE = "nurse"  # in the nurses' queue: call the client
    HOME_VISIT = "home_visit"  # for on-site home care: go and see


class Resolution(enum.StrEnum):
    OUTCOME = "outcome"  # someone recorded the check-in's outcome
    NOTE = "note"  # a nurse closed the task with a note (e.g. "in hospital since Monday")


@dataclass(frozen=True)
class Escalation:
    """A follow-up task about one check-in; one per check-in, whatever its stage."""

    id: str
    checkin_id: str
    client_id: str
    stage: EscalationStage
    message: str
    created_at: datetime
    home_visit_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: Resolution | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        return self.resolved_at is None


def escalation_id(checkin_id: str) -> str:
    """One task per check-in: a second server escalating the same check-in adds nothing."""
    return f"esc:{checkin_id}"
