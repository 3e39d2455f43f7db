"""The attention list: explainable rules that flag clients for a nurse's attention.

Each rule is a row of data: which per-client fact it reads (an SQL aggregate the store
computes over the rule's window), when that fact raises a flag, and the sentence a nurse
reads as the reason. A flag stays open until a nurse acts on it (calls, adjusts the plan)
or dismisses it with a note, or until the fact no longer holds; after a nurse closed it,
the same rule stays quiet about that client for the rule's snooze period.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from care_sessions.errors import InvalidInput
from care_sessions.schedule import HELSINKI

if TYPE_CHECKING:
    from care_sessions.checkin_ports import AttentionStore

NOTE_MAX = 500


class FactKind(enum.StrEnum):
    MEDICATION_ADHERENCE = "medication_adherence"  # count: taken, total: due and closed
    GLUCOSE_OUT_OF_RANGE = "glucose_out_of_range"  # count: values outside [low, high]
    LAST_CONTACT = "last_contact"  # last_at: last answered call (or when the client was added)
    MISSED_BY_TIME_OF_DAY = "missed_by_time_of_day"  # count per label (a planned time)


@dataclass(frozen=True)
class ClientFact:
    """One per-client aggregate; which fields carry meaning depends on the FactKind."""

    client_id: str
    count: int = 0
    total: int = 0
    last_at: datetime | None = None
    label: str = ""


@dataclass(frozen=True)
class FactQuery:
    kind: FactKind
    since: datetime
    until: datetime
    low: float = 0.0
    high: float = 0.0


Check = Callable[[ClientFact, "AttentionRule", datetime], bool]
Explain = Callable[[ClientFact, "AttentionRule", datetime], str]


@dataclass(frozen=True)
class AttentionRule:
    id: str
    title: str
    fact: FactKind
    window: timedelta
    raises: Check
    reason: Explain
    threshold: float = 0.0
    minimum: int = 0
    low: float = 0.0
    high: float = 0.0
    snooze: timedelta = timedelta(days=7)

    def query(self, now: datetime) -> FactQuery:
        return FactQuery(self.fact, now - self.window, now, self.low, self.high)


def _pct(fact: ClientFact) -> int:
    return round(100 * fact.count / fact.total) if fact.total else 0


def _days(delta: timedelta) -> int:
    return int(delta.total_seconds() // 86400)


ATTENTION_RULES: tuple[AttentionRule, ...] = (
    AttentionRule(
        id="medication_adherence",
        title="Medication adherence under 80 %",
        fact=FactKind.MEDICATION_ADHERENCE,
        window=timedelta(days=14),
        threshold=0.8,
        # Fewer closed check-ins than this say nothing yet about a new plan.
        minimum=4,
        raises=lambda f, r, now: f.total >= r.minimum and f.count < r.threshold * f.total,
        reason=lambda f, r, now: (
            f"Medicine confirmed taken {f.count} of {f.total} times ({_pct(f)} %) in the "
            f"last {_days(r.window)} days; the limit is {round(r.threshold * 100)} %"
        ),
    ),
    AttentionRule(
        id="glucose_out_of_range",
        title="Blood sugar out of range",
        fact=FactKind.GLUCOSE_OUT_OF_RANGE,
        window=timedelta(days=7),
        low=4.0,
        high=15.0,
        minimum=2,
        raises=lambda f, r, now: f.count >= r.minimum,
        reason=lambda f, r, now: (
            f"{f.count} blood-sugar values outside {r.low:.1f}-{r.high:.1f} mmol/L in the "
            f"last {_days(r.window)} days"
        ),
    ),
    AttentionRule(
        id="no_contact",
        title="No completed contact in 3 days",
        fact=FactKind.LAST_CONTACT,
        window=timedelta(days=3),
        snooze=timedelta(days=1),
        raises=lambda f, r, now: f.last_at is not None and now - f.last_at >= r.window,
        reason=lambda f, r, now: (
            f"No answered call since {f.last_at.astimezone(HELSINKI):%d.%m. %H:%M} "
            f"({_days(now - f.last_at)} days)"
            if f.last_at is not None
            else "No answered call yet"
        ),
    ),
    AttentionRule(
        id="missed_same_time",
        title="Repeatedly missed at the same time of day",
        fact=FactKind.MISSED_BY_TIME_OF_DAY,
        window=timedelta(days=14),
        minimum=3,
        raises=lambda f, r, now: f.count >= r.minimum,
        reason=lambda f, r, now: (
            f"{f.count} check-ins at {f.label} missed in the last {_days(r.window)} days"
        ),
    ),
)
RULES_BY_ID = {rule.id: rule for rule in ATTENTION_RULES}


class FlagAction(enum.StrEnum):
    CALLED = "called"
    PLAN_ADJUSTED = "plan_adjusted"
    DISMISSED = "dismissed"
    CLEARED = "cleared"  # the scheduler: the fact no longer holds


NURSE_ACTIONS = frozenset({FlagAction.CALLED, FlagAction.PLAN_ADJUSTED, FlagAction.DISMISSED})


@dataclass(frozen=True)
class AttentionFlag:
    id: str
    client_id: str
    rule_id: str
    reason: str
    raised_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    action: FlagAction | None = None
    note: str = ""

    @property
    def open(self) -> bool:
        return self.resolved_at is None

    @property
    def title(self) -> str:
        rule = RULES_BY_ID.get(self.rule_id)
        return rule.title if rule else self.rule_id


@dataclass(frozen=True)
class RaisedFlag:
    client_id: str
    rule_id: str
    reason: str


def evaluate(rule: AttentionRule, facts: Iterable[ClientFact], now: datetime) -> list[RaisedFlag]:
    """The flags a rule raises on the facts: at most one per client, the strongest one."""
    strongest: dict[str, ClientFact] = {}
    for fact in facts:
        if not rule.raises(fact, rule, now):
            continue
        held = strongest.get(fact.client_id)
        if held is None or (fact.count, fact.label) > (held.count, held.label):
            strongest[fact.client_id] = fact
    return [
        RaisedFlag(client_id, rule.id, rule.reason(fact, rule, now))
        for client_id, fact in sorted(strongest.items())
    ]


@dataclass(frozen=True)
class FlagChanges:
    """What the store must do so that the stored flags match one rule's evaluation."""

    open: tuple[RaisedFlag, ...] = ()
    reword: tuple[tuple[str, str], ...] = ()  # (flag id, new reason): the numbers moved
    clear: tuple[str, ...] = ()  # flag ids whose fact no longer holds


def plan_flag_changes(
    rule: AttentionRule,
    raised: Iterable[RaisedFlag],
    stored: Iterable[AttentionFlag],
    now: datetime,
) -> FlagChanges:
    """Compare a fresh evaluation with the stored flags of the same rule."""
    raised_by_client = {flag.client_id: flag for flag in raised}
    open_by_client: dict[str, AttentionFlag] = {}
    snoozed: set[str] = set()
    for flag in stored:
        if flag.rule_id != rule.id:
            continue
        if flag.open:
            open_by_client[flag.client_id] = flag
        elif (
            flag.resolved_at is not None
            and flag.action in NURSE_ACTIONS
            and now - flag.resolved_at < rule.snooze
        ):
            snoozed.add(flag.client_id)
    to_open = tuple(
        flag
        for client_id, flag in sorted(raised_by_client.items())
        if client_id not in open_by_client and client_id not in snoozed
    )
    reword = tuple(
        (flag.id, raised_by_client[client_id].reason)
        for client_id, flag in sorted(open_by_client.items())
        if client_id in raised_by_client and raised_by_client[client_id].reason != flag.reason
    )
    clear = tuple(
        flag.id
        for client_id, flag in sorted(open_by_client.items())
        if client_id not in raised_by_client
    )
    return FlagChanges(to_open, reword, clear)


def check_resolution(action: FlagAction, note: str) -> str:
    """A nurse's action on a flag: dismissing needs a note saying why."""
    if action not in NURSE_ACTIONS:
        raise InvalidInput(f"choose one of: {', '.join(sorted(NURSE_ACTIONS))}")
    note = note.strip()
    if action is FlagAction.DISMISSED and not note:
        raise InvalidInput("say in a note why the flag is dismissed")
    if len(note) > NOTE_MAX:
        raise InvalidInput(f"a note can be at most {NOTE_MAX} characters")
    return note


@dataclass(frozen=True)
class Refreshed:
    opened: tuple[AttentionFlag, ...] = ()
    cleared: int = 0
    reworded: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.opened or self.cleared or self.reworded)


async def refresh_attention(
    store: AttentionStore, now: datetime, rules: Iterable[AttentionRule] = ATTENTION_RULES
) -> Refreshed:
    """Evaluate every rule on fresh facts and bring the stored flags in line."""
    opened: list[AttentionFlag] = []
    cleared = reworded = 0
    for rule in rules:
        raised = evaluate(rule, await store.attention_facts(rule.query(now)), now)
        stored = await store.flags_for_rule(rule.id, now - rule.snooze)
        changes = plan_flag_changes(rule, raised, stored, now)
        opened.extend(await store.add_flags(changes.open, now))
        for flag_id, reason in changes.reword:
            await store.reword_flag(flag_id, reason)
        for flag_id in changes.clear:
            if await store.resolve_flag(
                flag_id, by=None, at=now, action=FlagAction.CLEARED, note=""
            ):
                cleared += 1
        reworded += len(changes.reword)
    return Refreshed(tuple(opened), cleared, reworded)
