"""Each attention rule on seeded histories that should, and should not, raise it."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa

from care_sessions.attention import (
    ATTENTION_RULES,
    RULES_BY_ID,
    AttentionRule,
    FlagAction,
    RaisedFlag,
    check_resolution,
    evaluate,
    refresh_attention,
)
from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, Outcome, PlanItem
from care_sessions.checkins import Checkin, CheckinStatus
from care_sessions.errors import InvalidInput
from care_sessions.identity import Client
from care_sessions.records import EndReason, SessionKind, SessionRecord
from care_sessions.schedule import expand_day, local_day
from store import care_tables as ct
from store import tables as t
from tests.store.conftest import Stores

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TODAY = local_day(NOW)


async def _client(stores: Stores, name: str, added_days_ago: int = 60) -> Client:
    client = Client(str(uuid.uuid4()), name, "Testinen")
    await stores.care.add_client(client)
    async with stores.engine.begin() as conn:
        await conn.execute(
            t.client.update()
            .where(t.client.c.id == client.id)
            .values(created_at=NOW - timedelta(days=added_days_ago))
        )
    return client


def _checkin(
    client: Client, days_ago: int, hh: int, kind: CheckinKind = CheckinKind.MEDICATION
) -> Checkin:
    item = PlanItem(
        id=str(uuid.uuid4()),
        client_id=client.id,
        kind=kind,
        label="medicine",
        weekdays=ALL_WEEKDAYS,
        times=(time(hh, 0),),
        medication="Metformin",
    )
    return expand_day(item, TODAY - timedelta(days=days_ago))[0]


def _taken(c: Checkin) -> Checkin:
    return replace(c, status=CheckinStatus.DONE, outcome=Outcome.TAKEN, next_action_at=None)


def _missed(c: Checkin, status: CheckinStatus = CheckinStatus.ESCALATED) -> Checkin:
    return replace(c, status=status, missed_at=c.closes_at, next_action_at=None)


async def _flags(stores: Stores, rule: AttentionRule) -> dict[str, RaisedFlag]:
    facts = await stores.checkins.attention_facts(rule.query(NOW))
    return {flag.client_id: flag for flag in evaluate(rule, facts, NOW)}


async def test_medication_adherence_under_80_percent_in_14_days(stores: Stores) -> None:
    rule = RULES_BY_ID["medication_adherence"]
    low = await _client(stores, "Low")  # 7 of 10 taken: 70 %
    ok = await _client(stores, "Ok")  # 8 of 10: exactly 80 % is not under 80 %
    few = await _client(stores, "Few")  # 0 of 3: too few to judge
    old = await _client(stores, "Old")  # bad, but 15+ days ago
    rows = []
    for day in range(1, 11):
        rows.append(_taken(_checkin(low, day, 8)) if day <= 7 else _missed(_checkin(low, day, 8)))
        rows.append(_taken(_checkin(ok, day, 8)) if day <= 8 else _missed(_checkin(ok, day, 8)))
        rows.append(_missed(_checkin(old, day + 14, 8)))
    rows += [_missed(_checkin(few, day, 8)) for day in (1, 2, 3)]
    # Open today and not yet past its window: says nothing about adherence yet.
    rows.append(replace(_checkin(ok, 0, 14), status=CheckinStatus.DUE))
    await stores.checkins.add_checkins(rows)
    flags = await _flags(stores, rule)
    assert set(flags) == {low.id}
    assert flags[low.id].reason == (
        "Medicine confirmed taken 7 of 10 times (70 %) in the last 14 days; the limit is 80 %"
    )


async def test_two_glucose_values_out_of_range_in_a_week(stores: Stores) -> None:
    rule = RULES_BY_ID["glucose_out_of_range"]
    high = await _client(stores, "High")
    once = await _client(stores, "Once")
    spread = await _client(stores, "Spread")
    values = [
        (high, 3.2, 1),
        (high, 16.1, 6),
        (high, 7.0, 2),
        (once, 17.0, 1),
        (once, 6.0, 2),
        (spread, 2.9, 2),
        (spread, 18.0, 8),  # outside the week
        (spread, 4.0, 3),  # the limits themselves are in range
        (spread, 15.0, 3),
    ]
    async with stores.engine.begin() as conn:
        await conn.execute(
            ct.measurement.insert(),
            [
                {
                    "client_id": client.id,
                    "kind": "glucose",
                    "value": value,
                    "unit": "mmol/L",
                    "measured_at": NOW - timedelta(days=days),
                    "recorded_by": client.id,
                }
                for client, value, days in values
            ],
        )
    flags = await _flags(stores, rule)
    assert set(flags) == {high.id}
    assert flags[high.id].reason == (
        "2 blood-sugar values outside 4.0-15.0 mmol/L in the last 7 days"
    )


async def test_no_completed_contact_in_three_days(stores: Stores) -> None:
    rule = RULES_BY_ID["no_contact"]
    quiet = await _client(stores, "Quiet")  # last answered call 4 days ago
    recent = await _client(stores, "Recent")  # answered 2 days ago
    unanswered = await _client(stores, "Unanswered")  # only unanswered calls lately
    new = await _client(stores, "New", added_days_ago=1)  # added yesterday, no calls yet
    never = await _client(stores, "Never", added_days_ago=10)  # added 10 days ago, no calls
    for client, days_ago, answered in (
        (quiet, 4, True),
        (recent, 2, True),
        (unanswered, 1, False),
        (unanswered, 5, True),
    ):
        ring = NOW - timedelta(days=days_ago, seconds=5)
        await stores.care.session_started(
            SessionRecord(
                id=str(uuid.uuid4()),
                kind=SessionKind.CALL,
                client_id=client.id,
                started_by="n",
                ring_at=ring,
                answer_at=ring + timedelta(seconds=5) if answered else None,
                end_at=ring + timedelta(minutes=5),
                end_reason=EndReason.COMPLETED if answered else EndReason.UNANSWERED,
            )
        )
    flags = await _flags(stores, rule)
    assert set(flags) == {quiet.id, unanswered.id, never.id}
    assert flags[quiet.id].reason == "No answered call since 26.11. 14:00 (4 days)"
    assert "(10 days)" in flags[never.id].reason
    assert new.id not in flags and recent.id not in flags


async def test_repeatedly_missed_at_the_same_time_of_day(stores: Stores) -> None:
    rule = RULES_BY_ID["missed_same_time"]
    evening = await _client(stores, "Evening")  # 18:00 missed three times
    scattered = await _client(stores, "Scattered")  # three misses at three times
    twice = await _client(stores, "Twice")  # 18:00 missed twice, plus once 20 days ago
    rows = [_missed(_checkin(evening, day, 18), CheckinStatus.DONE) for day in (1, 4, 9)]
    rows.append(_missed(_checkin(evening, 2, 8)))
    rows += [_missed(_checkin(scattered, day, hh)) for day, hh in ((1, 8), (2, 12), (3, 18))]
    rows += [_missed(_checkin(twice, day, 18)) for day in (1, 3, 20)]
    rows.append(_taken(_checkin(twice, 2, 18)))
    await stores.checkins.add_checkins(rows)
    flags = await _flags(stores, rule)
    assert set(flags) == {evening.id}
    assert flags[evening.id].reason == "3 check-ins at 18:00 missed in the last 14 days"


async def test_flags_are_stored_once_snoozed_after_dismissal_and_cleared(stores: Stores) -> None:
    """The full flag lifecycle: raise, no duplicate, dismiss with a note, snooze, clear."""
    rule = RULES_BY_ID["no_contact"]
    quiet = await _client(stores, "Quiet", added_days_ago=5)
    first = await refresh_attention(stores.checkins, NOW, [rule])
    [flag] = first.opened
    assert (flag.client_id, flag.rule_id, flag.open) == (quiet.id, "no_contact", True)
    again = await refresh_attention(stores.checkins, NOW + timedelta(hours=1), [rule])
    assert again.opened == () and again.reworded == 0
    assert [f.id for f in await stores.checkins.open_flags()] == [flag.id]

    note = check_resolution(FlagAction.DISMISSED, " family visits daily ")
    assert await stores.checkins.resolve_flag(
        flag.id, by="nurse-1", at=NOW, action=FlagAction.DISMISSED, note=note
    )
    assert not await stores.checkins.resolve_flag(
        flag.id, by="nurse-2", at=NOW, action=FlagAction.CALLED, note=""
    )
    stored = await stores.checkins.flag(flag.id)
    assert stored is not None
    assert (stored.action, stored.resolved_by, stored.note) == (
        FlagAction.DISMISSED,
        "nurse-1",
        "family visits daily",
    )
    snoozed = await refresh_attention(stores.checkins, NOW + timedelta(hours=12), [rule])
    assert snoozed.opened == (), "dismissed a day's snooze ago at most: stays quiet"
    back = await refresh_attention(stores.checkins, NOW + rule.snooze + timedelta(hours=1), [rule])
    assert [f.client_id for f in back.opened] == [quiet.id]

    # A call is answered: the fact no longer holds, the open flag clears itself.
    later = NOW + rule.snooze + timedelta(hours=2)
    await stores.care.session_started(
        SessionRecord(
            id=str(uuid.uuid4()),
            kind=SessionKind.CALL,
            client_id=quiet.id,
            started_by="n",
            ring_at=later - timedelta(minutes=10),
            answer_at=later - timedelta(minutes=9),
            end_at=later - timedelta(minutes=1),
            end_reason=EndReason.COMPLETED,
        )
    )
    cleared = await refresh_attention(stores.checkins, later, [rule])
    assert cleared.cleared == 1
    assert await stores.checkins.open_flags() == []
    async with stores.engine.connect() as conn:
        actions = sorted(
            row.action for row in await conn.execute(sa.select(ct.attention_flag.c.action))
        )
    assert actions == ["cleared", "dismissed"]


def test_dismissing_needs_a_note_and_actions_are_known() -> None:
    assert check_resolution(FlagAction.CALLED, "") == ""
    for action, note in ((FlagAction.DISMISSED, "  "), (FlagAction.CLEARED, "x")):
        try:
            check_resolution(action, note)
        except InvalidInput:
            continue
        raise AssertionError(f"{action} with {note!r} was accepted")


def test_every_rule_is_described_as_data() -> None:
    assert len({rule.id for rule in ATTENTION_RULES}) == len(ATTENTION_RULES) == 4
    for rule in ATTENTION_RULES:
        assert rule.title and rule.window > timedelta(0)
