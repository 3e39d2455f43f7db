"""The demo's care side: plans for the demo clients, and four weeks of history to report on.

Idempotent like the rest of the demo: a second run finds the plans and adds nothing.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta

from care_sessions.care_plans import (
    ALL_WEEKDAYS,
    CareProfile,
    CheckinKind,
    Completer,
    Outcome,
    PlanItem,
)
from care_sessions.checkins import Checkin, CheckinStatus
from care_sessions.identity import Client
from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord
from care_sessions.schedule import at_local, expand_day, local_day
from hoiva.services import Services

HISTORY_DAYS = 28
TEAMS = {"Aino": "Kallio", "Eino": "Kallio", "Helmi": "Vallila", "Brita": "Vallila"}
KM = {"Aino": 8.0, "Helmi": 22.0, "Toivo": 31.0}


def _plan(client: Client, created_by: str) -> list[PlanItem]:
    """A plausible plan per demo client, keyed on first name so the demo reads naturally."""

    def item(kind: CheckinKind, label: str, times: tuple[time, ...], **more: object) -> PlanItem:
        base = PlanItem(
            id=str(uuid.uuid4()),
            client_id=client.id,
            kind=kind,
            label=label,
            weekdays=ALL_WEEKDAYS,
            times=times,
            window_min=30,
            created_by=created_by,
        )
        return replace(base, **more)  # type: ignore[arg-type]

    medicine = CheckinKind.MEDICATION
    plans = {
        "Aino": [
            item(medicine, "morning medicine", (time(8),), medication="Metformin", dose="500 mg"),
            item(medicine, "evening medicine", (time(18),), medication="Metformin", dose="500 mg"),
            item(CheckinKind.GLUCOSE, "blood sugar", (time(7, 30),), weekdays=frozenset({0, 3})),
        ],
        "Eino": [
            item(
                CheckinKind.EXERCISE, "morning exercise", (time(10),), weekdays=frozenset({0, 2, 4})
            ),
            item(medicine, "heart medicine", (time(9),), medication="Bisoprolol", dose="5 mg"),
        ],
        "Helmi": [
            item(
                CheckinKind.VISIT,
                "lunch call",
                (time(12),),
                completed_by=Completer.NURSE,
                remind=False,
            )
        ],
        "Brita": [item(medicine, "kvällsmedicin", (time(20),), medication="Levaxin", dose="50 µg")],
        "Margaret": [
            item(medicine, "evening medicine", (time(19),), medication="Warfarin", dose="3 mg")
        ],
    }
    return plans.get(client.first_name, [])


async def seed_demo_care(services: Services) -> None:
    service = services.signaling.checkins
    if service is None:
        return
    store = service.store
    if await store.plan_items():
        return
    admin = await services.store.staff_by_username("admin")
    nurse = await services.store.staff_by_username("nina")
    created_by = admin.id if admin else ""
    clients = await services.store.list_clients()
    now = services.clock.now()
    rng = random.Random(2026)
    for client in clients:
        await store.set_care_profile(
            CareProfile(client.id, TEAMS.get(client.first_name, "Malmi"), KM.get(client.first_name))
        )
        items = _plan(client, created_by)
        for item in items:
            await store.add_plan_item(item)
        await store.add_checkins(_history(items, now, rng))
        if nurse is not None:
            for record in _calls(client, nurse.id, nurse.display_name, local_day(now), rng):
                await services.store.session_started(record)
        await service.plan_changed(client.id)


def _history(items: list[PlanItem], now: datetime, rng: random.Random) -> list[Checkin]:
    """Past check-ins with mostly good, sometimes missed outcomes (for the reports page).

    Today's too, up to `now`: plan_changed() creates only those whose window has not closed,
    so a demo started in the evening would otherwise show no 08:00 medicine at all.
    """
    today = local_day(now)
    rows = []
    for back in range(HISTORY_DAYS, -1, -1):
        for checkin in (
            c
            for item in items
            for c in expand_day(item, today - timedelta(days=back))
            if c.closes_at <= now
        ):
            roll = rng.random()
            if roll < 0.82:
                rows.append(_done(checkin, checkin.spec.positive))
            elif roll < 0.92:
                rows.append(
                    replace(_done(checkin, checkin.spec.positive), missed_at=checkin.closes_at)
                )
            else:
                rows.append(
                    replace(
                        checkin,
                        status=CheckinStatus.CLOSED,
                        next_action_at=None,
                        missed_at=checkin.closes_at,
                        escalated_at=checkin.closes_at + timedelta(minutes=20),
                    )
                )
    return rows


def _done(checkin: Checkin, outcome: Outcome) -> Checkin:
    return replace(
        checkin,
        status=CheckinStatus.DONE,
        outcome=outcome,
        next_action_at=None,
        due_at=checkin.opens_at,
        done_at=checkin.scheduled_at,
        done_by=checkin.client_id,
    )


def _calls(
    client: Client, nurse_id: str, nurse_name: str, today: date, rng: random.Random
) -> list[SessionRecord]:
    records = []
    for back in range(HISTORY_DAYS, 0, -1):
        if rng.random() < 0.4:
            continue
        ring = at_local(today - timedelta(days=back), time(rng.randrange(9, 16), rng.randrange(60)))
        answered = rng.random() < 0.9
        answer = ring + timedelta(seconds=rng.uniform(3, 20)) if answered else None
        records.append(
            SessionRecord(
                id=str(uuid.uuid4()),
                kind=SessionKind.CALL,
                client_id=client.id,
                started_by=nurse_id,
                ring_at=ring,
                participants=[
                    SessionParticipant("staff", nurse_id, nurse_name),
                    SessionParticipant("client", client.id, client.display_name),
                ],
                answer_at=answer,
                media_at=answer + timedelta(seconds=1.5) if answer else None,
                end_at=(answer + timedelta(minutes=rng.uniform(4, 18)))
                if answer
                else ring + timedelta(seconds=45),
                ended_by=nurse_id,
                end_reason=EndReason.COMPLETED if answered else EndReason.UNANSWERED,
            )
        )
    return records
