"""Check-ins at run time: expand plans daily, remind tablets, ring again, escalate to nurses.

The service owns no timers per check-in. Every check-in row carries its next deadline, so a
single loop asks the store what is due, applies care_sessions.followup's steps, and sleeps
until the next deadline (or until woken). That keeps the schedule durable across restarts
and lets several servers share one database: each step is a conditional update that only
one of them can win, and only the winner pushes messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from care_services.ports import Notifier
from care_services.settings import CheckinSettings
from care_sessions.access_log import AccessAction, AccessLog, DataKind, Purpose
from care_sessions.attention import FlagAction, check_resolution, refresh_attention
from care_sessions.care_plans import Completer, Outcome
from care_sessions.checkin_ports import CareRecordStore
from care_sessions.checkins import (
    Checkin,
    CheckinStatus,
    OutcomeInput,
    close_without_outcome,
    record_outcome,
)
from care_sessions.clock import Clock
from care_sessions.errors import InvalidState, NotFound
from care_sessions.followup import (
    Action,
    Escalation,
    EscalationStage,
    FollowupPolicy,
    Step,
    TabletState,
    escalation_id,
    escalation_text,
    home_visit_text,
    steps_until,
)
from care_sessions.identity import Principal, Role
from care_sessions.ports import CareStore
from care_sessions.presence import PresenceStatus
from care_sessions.schedule import day_bounds, expand, expansion_window, local_day
from protocol.messages import (
    AttentionEntry,
    AttentionList,
    CheckinEntry,
    CheckinRecorded,
    CheckinReminders,
    CheckinUpdate,
    EscalationEntry,
    EscalationQueue,
    ReminderEntry,
)

log = logging.getLogger(__name__)
CARE_ROLES = (Role.NURSE, Role.ADMIN)
STEP_BATCH = 200
# A tablet shows open check-ins of about the last day; an unresolved home-visit task from
# last week is the nurses' business, not a reminder.
REMINDER_HORIZON = timedelta(hours=18)
_RACE_RETRIES = 3


@dataclass(frozen=True)
class TickResult:
    expanded: int = 0
    steps: int = 0


class CheckinService:
    """Runs the check-in lifecycle for one server; every edge talks to it."""

    def __init__(
        self,
        *,
        store: CareRecordStore,
        care: CareStore,
        clock: Clock,
        hub: Notifier,
        settings: CheckinSettings,
        access_log: AccessLog | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        # Outcomes recorded over the socket are client data changes and belong in the
        # client's access log like the web routes' changes.
        self.access_log = access_log
        self._care = care
        self._clock = clock
        self._hub = hub
        self.policy = FollowupPolicy(
            retries=settings.retries,
            retry_interval=timedelta(minutes=settings.retry_interval_min),
            home_visit_after=timedelta(minutes=settings.home_visit_after_min),
        )
        self._attention_every = timedelta(minutes=settings.attention_every_min)
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._runner: asyncio.Task[None] | None = None
        self._expanded_days: tuple[date, ...] = ()
        self._next_attention_at: datetime | None = None

    # ---- the loop ------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="checkin-scheduler")

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    def wake(self) -> None:
        """Look at the clock now (a plan changed, or a test moved its clock)."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                result = await self.tick()
                delay = 0.0 if result.steps >= STEP_BATCH else await self._sleep_for()
            except Exception:
                log.exception("check-in scheduler pass failed; trying again")
                delay = self.settings.scheduler_poll_s
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _sleep_for(self) -> float:
        now = self._clock.now()
        moments = [expansion_window(now).next_expansion_at]
        if (next_action := await self.store.next_action_at()) is not None:
            moments.append(next_action)
        if self._next_attention_at is not None:
            moments.append(self._next_attention_at)
        soonest = min(moments)
        return max(0.0, min((soonest - now).total_seconds(), self.settings.scheduler_poll_s))

    async def tick(self) -> TickResult:
        """One pass at the clock's now: expand a new day, apply due steps, review flags."""
        async with self._lock:
            now = self._clock.now()
            expanded = await self._expand(now)
            steps = await self._apply_due_steps(now)
            if self._next_attention_at is None or now >= self._next_attention_at:
                self._next_attention_at = now + self._attention_every
                await self.review_attention(now)
            return TickResult(expanded, steps)

    # ---- plans ---------------------------------------------------------------------------

    async def _expand(self, now: datetime) -> int:
        window = expansion_window(now)
        if window.days == self._expanded_days:
            return 0
        items = await self.store.plan_items()
        added = await self.store.add_checkins(expand(items, window.days, not_before=now))
        self._expanded_days = window.days
        return added

    async def plan_changed(self, client_id: str) -> None:
        """A nurse added or ended a plan item: today's and tomorrow's rows follow at once."""
        now = self._clock.now()
        items = await self.store.plan_items(client_id)
        checkins = expand(items, expansion_window(now).days, not_before=now)
        await self.store.add_checkins(checkins)
        today = local_day(now)
        for checkin in await self.store.checkins_between(*day_bounds(today), client_id):
            await self._broadcast_update(checkin)
        await self.send_reminders(client_id)
        self.wake()

    # ---- timed steps ---------------------------------------------------------------------

    async def _apply_due_steps(self, now: datetime) -> int:
        applied = 0
        queue_changed = False
        for checkin in await self.store.actionable(now, STEP_BATCH):
            done = await self._apply_steps(steps_until(checkin, now, self.policy), now)
            if not done:
                continue
            applied += 1
            final = done[-1].after
            actions = {step.action for step in done}
            await self._broadcast_update(final)
            if final.status in (CheckinStatus.DUE, CheckinStatus.MISSED) and (
                Action.REMIND in actions or Action.RING_AGAIN in actions
            ):
                await self.send_reminders(final.client_id, ring=Action.RING_AGAIN in actions)
            queue_changed |= bool(actions & {Action.ESCALATE, Action.HOME_VISIT})
        if queue_changed:
            await self.broadcast_escalations()
        return applied

    async def _apply_steps(self, steps: list[Step], now: datetime) -> list[Step]:
        applied = []
        for step in steps:
            task = await self._task_for(step, now)
            if not await self.store.apply_step(step, task):
                break  # another server (or a nurse) got there first
            applied.append(step)
        return applied

    async def _task_for(self, step: Step, now: datetime) -> Escalation | None:
        checkin = step.before
        if step.action is Action.ESCALATE:
            name = await self._client_name(checkin.client_id)
            return Escalation(
                id=escalation_id(checkin.id),
                checkin_id=checkin.id,
                client_id=checkin.client_id,
                stage=EscalationStage.NURSE,
                message=escalation_text(name, checkin, self._tablet_state(checkin.client_id)),
                created_at=now,
            )
        if step.action is Action.HOME_VISIT:
            name = await self._client_name(checkin.client_id)
            return Escalation(
                id=escalation_id(checkin.id),
                checkin_id=checkin.id,
                client_id=checkin.client_id,
                stage=EscalationStage.HOME_VISIT,
                message=home_visit_text(name, checkin),
                created_at=now,
                home_visit_at=now,
            )
        return None

    def _tablet_state(self, client_id: str) -> TabletState:
        presence = self._hub.presence_of(client_id)
        if presence.status is PresenceStatus.OFFLINE:
            return TabletState(online=False, offline_since=presence.last_seen)
        return TabletState(online=True)

    # ---- outcomes ------------------------------------------------------------------------

    async def confirm(
        self,
        tablet: Principal,
        checkin_id: str,
        outcome: str,
        glucose_mmol_l: float | None = None,
        ref: str | None = None,
    ) -> CheckinRecorded:
        """The client's button on the tablet; someone else's check-in is simply not found."""
        checkin = await self.store.checkin(checkin_id)
        if checkin is None or checkin.client_id != tablet.subject_id:
            raise NotFound(f"no check-in {checkin_id}")
        given = OutcomeInput(Outcome(outcome), glucose_mmol_l)
        return await self._record(tablet, checkin, given, ref)

    async def record(
        self,
        nurse: Principal,
        checkin_id: str,
        outcome: str,
        glucose_mmol_l: float | None = None,
        note: str = "",
        ref: str | None = None,
    ) -> CheckinRecorded:
        """A nurse's outcome, typically during a call, from the form beside the video."""
        checkin = await self.store.checkin(checkin_id)
        if checkin is None:
            raise NotFound(f"no check-in {checkin_id}")
        given = OutcomeInput(Outcome(outcome), glucose_mmol_l, note)
        return await self._record(nurse, checkin, given, ref)

    async def _record(
        self, who: Principal, checkin: Checkin, given: OutcomeInput, ref: str | None
    ) -> CheckinRecorded:
        for _ in range(_RACE_RETRIES):
            decision = record_outcome(
                checkin, given, by=who.subject_id, role=who.role, at=self._clock.now()
            )
            if not decision.new:
                reply = self._recorded(decision.checkin, duplicate=True, ref=ref)
                await self._hub.send_to(who.subject_id, reply)
                return reply
            assert decision.recorded is not None and decision.event is not None
            if await self.store.record_outcome(
                checkin, decision.checkin, decision.recorded, decision.event
            ):
                reply = self._recorded(decision.checkin, duplicate=False, ref=ref)
                await self._hub.send_to(who.subject_id, reply)
                await self._after_change(checkin, decision.checkin)
                if self.access_log is not None:
                    await self.access_log.record(
                        who,
                        checkin.client_id,
                        AccessAction.CHANGE,
                        DataKind.OUTCOMES,
                        Purpose.CARE,
                        "check-in outcome",
                    )
                return reply
            # The scheduler moved the check-in on meanwhile: decide again on its new state.
            fresh = await self.store.checkin(checkin.id)
            if fresh is None:
                break
            checkin = fresh
        raise InvalidState("the check-in changed while recording; try again")

    async def close_escalation(
        self, nurse: Principal, escalation_id_: str, note: str, ref: str | None = None
    ) -> None:
        """Close a task without an outcome ("in hospital since Monday"); the note is kept."""
        task = await self.store.escalation(escalation_id_)
        if task is None:
            raise NotFound(f"no escalation {escalation_id_}")
        if not task.open:
            raise InvalidState("this task was already resolved")
        for _ in range(_RACE_RETRIES):
            checkin = await self.store.checkin(task.checkin_id)
            if checkin is None:
                raise NotFound(f"no check-in {task.checkin_id}")
            after, event = close_without_outcome(
                checkin, by=nurse.subject_id, role=nurse.role, at=self._clock.now()
            )
            if await self.store.close_escalation(task, checkin, after, event, note.strip()):
                await self._after_change(checkin, after)
                return
        raise InvalidState("the check-in changed while closing; try again")

    async def _after_change(self, before: Checkin, after: Checkin) -> None:
        await self._broadcast_update(after)
        if before.completed_by is Completer.CLIENT:
            await self.send_reminders(after.client_id)
        if before.status in (CheckinStatus.ESCALATED, CheckinStatus.HOME_VISIT):
            await self.broadcast_escalations()

    @staticmethod
    def _recorded(checkin: Checkin, *, duplicate: bool, ref: str | None) -> CheckinRecorded:
        return CheckinRecorded(
            ref=ref,
            checkin_id=checkin.id,
            status=checkin.status.value,
            outcome=checkin.outcome.value if checkin.outcome else "",
            duplicate=duplicate,
        )

    # ---- attention -----------------------------------------------------------------------

    async def review_attention(self, now: datetime | None = None) -> None:
        result = await refresh_attention(self.store, now or self._clock.now())
        if result.changed:
            await self.broadcast_attention()

    async def resolve_flag(self, nurse: Principal, flag_id: str, action: str, note: str) -> None:
        flag = await self.store.flag(flag_id)
        if flag is None:
            raise NotFound(f"no flag {flag_id}")
        kind = FlagAction(action)
        clean = check_resolution(kind, note)
        if not await self.store.resolve_flag(
            flag_id, by=nurse.subject_id, at=self._clock.now(), action=kind, note=clean
        ):
            raise InvalidState("this flag was already closed")
        await self.broadcast_attention()

    # ---- what people see -----------------------------------------------------------------

    async def send_reminders(self, client_id: str, *, ring: bool = False) -> None:
        """The tablet's whole list of open check-ins (like help.queue, never a diff)."""
        if not self._hub.is_connected(client_id):
            return
        await self._hub.send_to(client_id, await self.reminders_message(client_id, ring=ring))

    async def reminders_message(
        self, client_id: str, *, ring: bool = False, ref: str | None = None
    ) -> CheckinReminders:
        since = self._clock.now() - REMINDER_HORIZON
        entries = [
            ReminderEntry(
                checkin_id=c.id,
                kind=c.kind.value,
                label=c.label,
                detail=c.detail,
                time=c.time_text,
                status=c.status.value,
                attempts=c.attempts,
                confirm=c.spec.positive.value,
                alert=c.reminds_tablet or c.attempts > 0,
            )
            for c in await self.store.open_checkins(client_id)
            if c.completed_by is Completer.CLIENT and c.scheduled_at >= since
        ]
        return CheckinReminders(ref=ref, reminders=entries, ring=ring and bool(entries))

    async def day_list(self, day: date | None = None) -> list[CheckinEntry]:
        day = day or local_day(self._clock.now())
        names = await self._names()
        return [
            self._entry(c, names.get(c.client_id, ""))
            for c in await self.store.checkins_between(*day_bounds(day))
        ]

    async def client_checkins(self, client_id: str, day: date | None = None) -> list[CheckinEntry]:
        day = day or local_day(self._clock.now())
        name = await self._client_name(client_id)
        lo, hi = day_bounds(day)
        return [self._entry(c, name) for c in await self.store.checkins_between(lo, hi, client_id)]

    async def escalation_queue(self) -> EscalationQueue:
        names = await self._names()
        return EscalationQueue(
            escalations=[
                EscalationEntry(
                    escalation_id=e.id,
                    checkin_id=e.checkin_id,
                    client_id=e.client_id,
                    client_name=names.get(e.client_id, ""),
                    stage=e.stage.value,
                    message=e.message,
                    created_at=e.created_at.isoformat(),
                    home_visit_at=e.home_visit_at.isoformat() if e.home_visit_at else None,
                )
                for e in await self.store.open_escalations()
            ]
        )

    async def attention_list(self) -> AttentionList:
        names = await self._names()
        return AttentionList(
            flags=[
                AttentionEntry(
                    flag_id=f.id,
                    client_id=f.client_id,
                    client_name=names.get(f.client_id, ""),
                    rule_id=f.rule_id,
                    title=f.title,
                    reason=f.reason,
                    raised_at=f.raised_at.isoformat(),
                )
                for f in await self.store.open_flags()
            ]
        )

    async def broadcast_escalations(self) -> None:
        await self._hub.broadcast_staff(await self.escalation_queue(), CARE_ROLES)

    async def broadcast_attention(self) -> None:
        await self._hub.broadcast_staff(await self.attention_list(), CARE_ROLES)

    async def _broadcast_update(self, checkin: Checkin) -> None:
        entry = self._entry(checkin, await self._client_name(checkin.client_id))
        await self._hub.broadcast_staff(CheckinUpdate(checkin=entry), CARE_ROLES)

    @staticmethod
    def _entry(c: Checkin, client_name: str) -> CheckinEntry:
        return CheckinEntry(
            checkin_id=c.id,
            client_id=c.client_id,
            client_name=client_name,
            kind=c.kind.value,
            label=c.label,
            detail=c.detail,
            time=c.time_text,
            scheduled_at=c.scheduled_at.isoformat(),
            status=c.status.value,
            attempts=c.attempts,
            completed_by=c.completed_by.value,
            outcome=c.outcome.value if c.outcome else None,
        )

    async def _client_name(self, client_id: str) -> str:
        client = await self._care.client(client_id)
        return client.display_name if client else ""

    async def _names(self) -> dict[str, str]:
        return {c.id: c.display_name for c in await self._care.list_clients()}
