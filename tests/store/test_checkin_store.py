"""The check-in store on SQLite and PostgreSQL: plans, expansion, steps, outcomes, tasks."""

from __future__ import annotations

import asyncio
import traceback
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta

import pytest

from care_sessions.care_plans import (
    ALL_WEEKDAYS,
    CareProfile,
    CheckinKind,
    Completer,
    Outcome,
    PlanItem,
)
from care_sessions.checkins import (
    Checkin,
    CheckinStatus,
    OutcomeInput,
    close_without_outcome,
    record_outcome,
)
from care_sessions.errors import InvalidInput
from care_sessions.followup import (
    Action,
    Escalation,
    EscalationStage,
    FollowupPolicy,
    Resolution,
    escalation_id,
    next_step,
)
from care_sessions.identity import Client, Role
from care_sessions.schedule import at_local, expand, expand_day
from store import care_tables as ct
from store.checkin_store import OutcomeNotStored
from tests.store.conftest import Stores

DAY = date(2026, 11, 30)
POLICY = FollowupPolicy()


async def _client(stores: Stores, first: str = "Aino") -> Client:
    client = Client(str(uuid.uuid4()), first, "Korhonen")
    await stores.care.add_client(client)
    return client


def _item(client: Client, **changes: object) -> PlanItem:
    item = PlanItem(
        id=str(uuid.uuid4()),
        client_id=client.id,
        kind=CheckinKind.MEDICATION,
        label="evening medicine",
        weekdays=ALL_WEEKDAYS,
        times=(time(8, 0), time(18, 0)),
        medication="Metformin",
        dose="500 mg",
        created_by="nurse-1",
    )
    return replace(item, **changes)  # type: ignore[arg-type]


async def test_plan_items_round_trip_and_end(stores: Stores) -> None:
    client = await _client(stores)
    item = _item(client, weekdays=frozenset({0, 3}), remind=False)
    await stores.checkins.add_plan_item(item)
    [stored] = await stores.checkins.plan_items(client.id)
    assert stored.times == (time(8), time(18))
    assert stored.weekdays == frozenset({0, 3})
    assert (stored.remind, stored.completed_by, stored.detail) == (
        False,
        Completer.CLIENT,
        "Metformin 500 mg",
    )
    await stores.checkins.add_checkins(expand_day(item, DAY))  # DAY is a Monday
    at = at_local(DAY, time(7, 0))
    assert await stores.checkins.end_plan_item(item.id, at, "nurse-1") == 2
    assert await stores.checkins.plan_items(client.id) == []
    checkins = await stores.checkins.checkins_between(*_day(DAY), client.id)
    assert {c.status for c in checkins} == {CheckinStatus.CANCELLED}
    events = await stores.checkins.events(checkins[0].id)
    assert [(e.to_status, e.actor.subject_id) for e in events] == [
        (CheckinStatus.CANCELLED, "nurse-1")
    ]


async def test_invalid_plan_items_are_refused(stores: Stores) -> None:
    client = await _client(stores)
    with pytest.raises(InvalidInput):
        await stores.checkins.add_plan_item(_item(client, medication=""))


async def test_care_profile_upsert(stores: Stores) -> None:
    client = await _client(stores)
    assert await stores.checkins.care_profile(client.id) is None
    await stores.checkins.set_care_profile(CareProfile(client.id, "Kallio", 14.5))
    await stores.checkins.set_care_profile(CareProfile(client.id, "Vallila", None))
    assert await stores.checkins.care_profile(client.id) == CareProfile(client.id, "Vallila", None)
    assert await stores.checkins.teams() == ["Vallila"]


def _day(day: date) -> tuple[datetime, datetime]:
    return at_local(day, time(0)), at_local(day + timedelta(days=1), time(0))


async def test_expanding_twice_stores_each_checkin_once(stores: Stores) -> None:
    client = await _client(stores)
    item = _item(client)
    checkins = expand([item], [DAY, DAY + timedelta(days=1)], not_before=at_local(DAY, time(0)))
    assert await stores.checkins.add_checkins(checkins) == 4
    assert await stores.checkins.add_checkins(checkins) == 0
    # Two servers expanding the same day at once: still four rows.
    results = await asyncio.gather(
        stores.checkins.add_checkins(checkins), stores.checkins.add_checkins(checkins)
    )
    assert results == [0, 0]
    stored = await stores.checkins.checkins_between(*_day(DAY))
    assert [c.time_text for c in stored] == ["08:00", "18:00"]
    assert stored[1] == checkins[1], "a check-in reads back exactly as it was written"


async def test_actionable_and_next_action(stores: Stores) -> None:
    client = await _client(stores)
    checkins = expand_day(_item(client), DAY)
    await stores.checkins.add_checkins(checkins)
    assert await stores.checkins.next_action_at() == checkins[0].opens_at
    assert await stores.checkins.actionable(checkins[0].opens_at - timedelta(seconds=1), 10) == []
    [first] = await stores.checkins.actionable(checkins[0].opens_at, 10)
    assert first.id == checkins[0].id


async def test_a_step_applies_once_even_when_two_servers_race(stores: Stores) -> None:
    client = await _client(stores)
    checkin = expand_day(_item(client), DAY)[0]
    await stores.checkins.add_checkins([checkin])
    step = next_step(checkin, checkin.opens_at, POLICY)
    assert step is not None
    applied = await asyncio.gather(
        stores.checkins.apply_step(step), stores.checkins.apply_step(step)
    )
    assert sorted(applied) == [False, True]
    stored = await stores.checkins.checkin(checkin.id)
    assert stored == step.after
    assert len(await stores.checkins.events(checkin.id)) == 1


async def test_escalation_lifecycle_and_resolution_by_outcome(stores: Stores) -> None:
    client = await _client(stores)
    checkin = expand_day(_item(client), DAY)[1]
    await stores.checkins.add_checkins([checkin])
    current, now = await _escalate(stores, checkin, client)
    [task] = await stores.checkins.open_escalations()
    assert task.id == escalation_id(checkin.id) and task.stage is EscalationStage.NURSE

    later = now + POLICY.home_visit_after
    step = next_step(current, later, POLICY)
    assert step is not None and step.action is Action.HOME_VISIT
    assert await stores.checkins.apply_step(
        step, replace(task, stage=EscalationStage.HOME_VISIT, home_visit_at=later, message="go")
    )
    [task] = await stores.checkins.open_escalations()
    assert (task.stage, task.home_visit_at, task.message) == (
        EscalationStage.HOME_VISIT,
        later,
        "go",
    )

    decision = record_outcome(
        step.after,
        OutcomeInput(Outcome.TAKEN, note="found the pill box empty"),
        by="nurse-1",
        role=Role.NURSE,
        at=later + timedelta(minutes=5),
    )
    assert decision.recorded is not None and decision.event is not None
    assert await stores.checkins.record_outcome(
        step.after, decision.checkin, decision.recorded, decision.event
    )
    assert await stores.checkins.open_escalations() == []
    resolved = await stores.checkins.escalation(task.id)
    assert resolved is not None
    assert (resolved.resolved_by, resolved.resolution) == ("nurse-1", Resolution.OUTCOME)
    outcome = await stores.checkins.outcome(checkin.id)
    assert outcome is not None and outcome.note == "found the pill box empty"
    events = await stores.checkins.events(checkin.id)
    assert [e.to_status for e in events] == [
        CheckinStatus.DUE,
        CheckinStatus.MISSED,
        CheckinStatus.MISSED,
        CheckinStatus.ESCALATED,
        CheckinStatus.HOME_VISIT,
        CheckinStatus.DONE,
    ]
    assert events[-1].actor.subject_id == "nurse-1"
    assert all(e.actor.role == "system" for e in events[:-1])


async def test_an_outcome_is_stored_once_however_often_it_is_sent(stores: Stores) -> None:
    """Two "taken" at the same moment (double tap, two sockets): one outcome row."""
    client = await _client(stores)
    checkin = replace(
        expand_day(_item(client), DAY)[0], status=CheckinStatus.DUE, next_action_at=None
    )
    await stores.checkins.add_checkins([checkin])
    decision = record_outcome(
        checkin, OutcomeInput(Outcome.TAKEN), by=client.id, role=Role.TABLET, at=checkin.opens_at
    )
    assert decision.recorded is not None and decision.event is not None
    results = await asyncio.gather(
        *(
            stores.checkins.record_outcome(
                checkin, decision.checkin, decision.recorded, decision.event
            )
            for _ in range(3)
        )
    )
    assert sorted(results) == [False, False, True]
    stored = await stores.checkins.checkin(checkin.id)
    assert stored is not None and stored.outcome is Outcome.TAKEN
    assert len(await stores.checkins.events(checkin.id)) == 1


async def test_glucose_outcome_becomes_a_measurement(stores: Stores) -> None:
    client = await _client(stores)
    item = _item(client, kind=CheckinKind.GLUCOSE, medication="", dose="", label="blood sugar")
    checkin = replace(expand_day(item, DAY)[0], status=CheckinStatus.DUE)
    await stores.checkins.add_checkins([checkin])
    decision = record_outcome(
        checkin,
        OutcomeInput(Outcome.MEASURED, 7.8),
        by=client.id,
        role=Role.TABLET,
        at=checkin.scheduled_at,
    )
    assert decision.recorded is not None and decision.event is not None
    await stores.checkins.record_outcome(
        checkin, decision.checkin, decision.recorded, decision.event
    )
    outcome = await stores.checkins.outcome(checkin.id)
    assert outcome is not None and outcome.glucose_mmol_l == 7.8
    assert outcome.recorded_role == "tablet"


async def test_closing_a_task_with_a_note(stores: Stores) -> None:
    """ "In hospital since Monday": the task and the check-in close, nothing is recorded."""
    client = await _client(stores)
    checkin = expand_day(_item(client), DAY)[0]
    await stores.checkins.add_checkins([checkin])
    current, now = await _escalate(stores, checkin, client)
    [task] = await stores.checkins.open_escalations()
    after, event = close_without_outcome(current, by="n1", role=Role.NURSE, at=now)
    close = stores.checkins.close_escalation
    assert await close(task, current, after, event, "in hospital")
    assert not await close(task, current, after, event, "again")
    resolved = await stores.checkins.escalation(task.id)
    assert resolved is not None
    assert (resolved.resolved_by, resolved.resolution, resolved.note) == (
        "n1",
        Resolution.NOTE,
        "in hospital",
    )
    assert await stores.checkins.open_escalations() == []
    stored = await stores.checkins.checkin(checkin.id)
    assert stored is not None and stored.status is CheckinStatus.CLOSED
    assert stored.next_action_at is None and stored.outcome is None
    assert await stores.checkins.outcome(checkin.id) is None


async def _escalate(stores: Stores, checkin: Checkin, client: Client) -> tuple[Checkin, datetime]:
    """Walk a stored check-in through its steps until it sits in the nurses' queue."""
    current = checkin
    now = checkin.opens_at
    while current.status is not CheckinStatus.ESCALATED:
        step = next_step(current, now, POLICY)
        if step is None:
            assert current.next_action_at is not None
            now = current.next_action_at
            continue
        task = None
        if step.action is Action.ESCALATE:
            task = Escalation(
                escalation_id(current.id),
                current.id,
                client.id,
                EscalationStage.NURSE,
                "Aino K. has not confirmed the 18:00 evening medicine; tablet offline",
                now,
            )
        assert await stores.checkins.apply_step(step, task)
        current = step.after
    return current, now


async def test_a_failed_outcome_write_never_shows_its_values(stores: Stores) -> None:
    """A database error while storing an outcome must not carry the note or the glucose
    value into a traceback (and so into a log)."""
    client = await _client(stores)
    item = _item(client, kind=CheckinKind.GLUCOSE, medication="", dose="", label="blood sugar")
    checkin = replace(expand_day(item, DAY)[0], status=CheckinStatus.DUE)
    await stores.checkins.add_checkins([checkin])
    async with stores.engine.begin() as conn:
        # An outcome row already there: the insert will violate the primary key.
        await conn.execute(
            ct.checkin_outcome.insert().values(
                checkin_id=checkin.id,
                client_id=client.id,
                outcome="measured",
                note="",
                recorded_by="x",
                recorded_role="nurse",
                recorded_at=checkin.scheduled_at,
            )
        )
    decision = record_outcome(
        checkin,
        OutcomeInput(Outcome.MEASURED, 27.4, note="private: felt dizzy"),
        by="nurse-1",
        role=Role.NURSE,
        at=checkin.scheduled_at,
    )
    assert decision.recorded is not None and decision.event is not None
    with pytest.raises(OutcomeNotStored) as info:
        await stores.checkins.record_outcome(
            checkin, decision.checkin, decision.recorded, decision.event
        )
    text = "".join(traceback.format_exception(info.value))
    assert "27.4" not in text and "dizzy" not in text
    assert "IntegrityError" in text or "UniqueViolation" in text
    stored = await stores.checkins.checkin(checkin.id)
    assert stored is not None and stored.status is CheckinStatus.DUE, "rolled back"
