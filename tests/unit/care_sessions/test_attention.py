"""Attention rules as data: evaluation on facts, and keeping stored flags in line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from care_sessions.attention import (
    RULES_BY_ID,
    AttentionFlag,
    ClientFact,
    FlagAction,
    RaisedFlag,
    evaluate,
    plan_flag_changes,
)

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ADHERENCE = RULES_BY_ID["medication_adherence"]
MISSED = RULES_BY_ID["missed_same_time"]


def test_a_rule_raises_one_flag_per_client_the_strongest() -> None:
    facts = [
        ClientFact("a", count=3, label="08:00"),
        ClientFact("a", count=5, label="18:00"),
        ClientFact("b", count=2, label="18:00"),
    ]
    [flag] = evaluate(MISSED, facts, NOW)
    assert flag == RaisedFlag(
        "a", "missed_same_time", "5 check-ins at 18:00 missed in the last 14 days"
    )


def test_adherence_threshold_and_minimum() -> None:
    facts = [
        ClientFact("low", count=3, total=5),
        ClientFact("edge", count=4, total=5),
        ClientFact("new", count=0, total=3),
    ]
    assert [f.client_id for f in evaluate(ADHERENCE, facts, NOW)] == ["low"]


def _flag(
    client: str, *, resolved: timedelta | None = None, action: FlagAction | None = None
) -> AttentionFlag:
    return AttentionFlag(
        id=f"f-{client}",
        client_id=client,
        rule_id=ADHERENCE.id,
        reason="old reason",
        raised_at=NOW - timedelta(days=3),
        resolved_at=NOW - resolved if resolved is not None else None,
        action=action,
    )


def test_flag_changes_open_reword_clear_and_snooze() -> None:
    raised = [
        RaisedFlag("new", ADHERENCE.id, "r-new"),
        RaisedFlag("still", ADHERENCE.id, "new reason"),
        RaisedFlag("dismissed", ADHERENCE.id, "r"),
        RaisedFlag("long_ago", ADHERENCE.id, "r"),
        RaisedFlag("auto_cleared", ADHERENCE.id, "r"),
    ]
    stored = [
        _flag("still"),
        _flag("gone"),
        _flag("dismissed", resolved=timedelta(days=2), action=FlagAction.DISMISSED),
        _flag("long_ago", resolved=timedelta(days=8), action=FlagAction.CALLED),
        _flag("auto_cleared", resolved=timedelta(hours=1), action=FlagAction.CLEARED),
    ]
    changes = plan_flag_changes(ADHERENCE, raised, stored, NOW)
    assert [f.client_id for f in changes.open] == ["auto_cleared", "long_ago", "new"]
    assert changes.reword == (("f-still", "new reason"),)
    assert changes.clear == ("f-gone",)
