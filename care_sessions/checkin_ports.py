"""What the care workflows need from storage; store.checkin_store implements it in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from care_sessions.attention import AttentionFlag, ClientFact, FactQuery, FlagAction, RaisedFlag
from care_sessions.care_plans import CareProfile, PlanItem
from care_sessions.checkins import Checkin, CheckinEvent, RecordedOutcome
from care_sessions.followup import Escalation, Step
from care_sessions.reports import ReportSource


class PlanStore(Protocol):
    async def add_plan_item(self, item: PlanItem) -> None: ...

    async def plan_item(self, item_id: str) -> PlanItem | None: ...

    async def plan_items(self, client_id: str | None = None) -> list[PlanItem]:
        """Active items, of one client or of everyone."""
        ...

    async def end_plan_item(self, item_id: str, at: datetime, by: str) -> int:
        """Deactivate an item and cancel its check-ins that are not due yet; returns those."""
        ...

    async def care_profile(self, client_id: str) -> CareProfile | None: ...

    async def set_care_profile(self, profile: CareProfile) -> None: ...


class CheckinStore(Protocol):
    async def add_checkins(self, checkins: Sequence[Checkin]) -> int:
        """Insert the ones not stored yet (ids are deterministic); returns how many were new."""
        ...

    async def checkin(self, checkin_id: str) -> Checkin | None: ...

    async def checkins_between(
        self, lo: datetime, hi: datetime, client_id: str | None = None
    ) -> list[Checkin]: ...

    async def open_checkins(self, client_id: str) -> list[Checkin]: ...

    async def actionable(self, now: datetime, limit: int) -> list[Checkin]:
        """Check-ins whose next_action_at has come, oldest deadline first."""
        ...

    async def next_action_at(self) -> datetime | None: ...

    async def apply_step(self, step: Step, escalation: Escalation | None = None) -> bool:
        """Store one timed step (and its task) if the check-in is still as `step.before`."""
        ...

    async def record_outcome(
        self, before: Checkin, after: Checkin, recorded: RecordedOutcome, event: CheckinEvent
    ) -> bool:
        """Store an outcome if the check-in is still as `before`; resolves its open task."""
        ...

    async def outcome(self, checkin_id: str) -> RecordedOutcome | None: ...

    async def events(self, checkin_id: str) -> list[CheckinEvent]: ...

    async def open_escalations(self) -> list[Escalation]: ...

    async def escalation(self, escalation_id: str) -> Escalation | None: ...

    async def close_escalation(
        self, task: Escalation, before: Checkin, after: Checkin, event: CheckinEvent, note: str
    ) -> bool:
        """Close a task without an outcome (the check-in too) if the check-in is as `before`."""
        ...


class AttentionStore(Protocol):
    async def attention_facts(self, query: FactQuery) -> list[ClientFact]: ...

    async def flags_for_rule(self, rule_id: str, resolved_since: datetime) -> list[AttentionFlag]:
        """Open flags of a rule, and those closed since the given time (for snoozing)."""
        ...

    async def open_flags(self) -> list[AttentionFlag]: ...

    async def flag(self, flag_id: str) -> AttentionFlag | None: ...

    async def add_flags(self, flags: Sequence[RaisedFlag], at: datetime) -> list[AttentionFlag]: ...

    async def reword_flag(self, flag_id: str, reason: str) -> None: ...

    async def resolve_flag(
        self, flag_id: str, *, by: str | None, at: datetime, action: FlagAction, note: str
    ) -> bool:
        """Close an open flag; False if it was closed already."""
        ...


class CareRecordStore(PlanStore, CheckinStore, AttentionStore, ReportSource, Protocol):
    """Everything the care workflows persist and report on."""
