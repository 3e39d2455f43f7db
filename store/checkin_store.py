"""Care plans, check-ins, outcomes and follow-up tasks on SQLAlchemy Core (async).

Every state change is one conditional UPDATE: it only matches a check-in that is still in
the state the caller decided from, so two servers (or a nurse and the scheduler) racing on
the same check-in cannot both apply their change, on SQLite or PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from care_sessions.care_plans import (
    CareProfile,
    CheckinKind,
    Completer,
    Outcome,
    PlanItem,
    format_times,
    parse_times,
    weekdays_from_mask,
    weekdays_mask,
)
from care_sessions.checkins import (
    OPEN_STATUSES,
    Actor,
    Checkin,
    CheckinEvent,
    CheckinStatus,
    RecordedOutcome,
)
from care_sessions.followup import (
    Action,
    Escalation,
    EscalationStage,
    Resolution,
    Step,
)
from store import care_tables as ct
from store.attention_queries import SqlAttentionStore
from store.report_queries import SqlReportQueries

_INSERT_CHUNK = 500


class OutcomeNotStored(RuntimeError):
    """The database refused an outcome; says which error, never which values."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the check-in outcome could not be stored ({reason})")


class SqlCheckinStore(SqlAttentionStore, SqlReportQueries):
    """Implements care_sessions.checkin_ports.CareRecordStore."""

    def __init__(self, engine: AsyncEngine) -> None:
        SqlAttentionStore.__init__(self, engine)
        SqlReportQueries.__init__(self, engine)
        self._engine = engine

    # ---- plans ---------------------------------------------------------------------------

    async def add_plan_item(self, item: PlanItem) -> None:
        item.validate()
        async with self._engine.begin() as conn:
            await conn.execute(ct.care_plan_item.insert().values(**_item_values(item)))

    async def plan_item(self, item_id: str) -> PlanItem | None:
        p = ct.care_plan_item
        async with self._engine.connect() as conn:
            row = (await conn.execute(p.select().where(p.c.id == item_id))).first()
        return _item(row) if row else None

    async def plan_items(self, client_id: str | None = None) -> list[PlanItem]:
        p = ct.care_plan_item
        query = p.select().where(p.c.active.is_(True)).order_by(p.c.client_id, p.c.created_at)
        if client_id is not None:
            query = query.where(p.c.client_id == client_id)
        async with self._engine.connect() as conn:
            return [_item(row) for row in await conn.execute(query)]

    async def end_plan_item(self, item_id: str, at: datetime, by: str) -> int:
        p = ct.care_plan_item
        c = ct.checkin
        async with self._engine.begin() as conn:
            await conn.execute(
                p.update()
                .where(p.c.id == item_id, p.c.active.is_(True))
                .values(active=False, ended_at=at, ended_by=by)
            )
            cancelled = list(
                await conn.execute(
                    c.update()
                    .where(c.c.plan_item_id == item_id, c.c.status == CheckinStatus.SCHEDULED.value)
                    .values(status=CheckinStatus.CANCELLED.value, next_action_at=None)
                    .returning(c.c.id)
                )
            )
            if cancelled:
                await conn.execute(
                    ct.checkin_event.insert(),
                    [
                        _event_values(
                            CheckinEvent(
                                row.id,
                                at,
                                CheckinStatus.SCHEDULED,
                                CheckinStatus.CANCELLED,
                                Actor("staff", by),
                                "removed from the plan",
                            )
                        )
                        for row in cancelled
                    ],
                )
        return len(cancelled)

    async def care_profile(self, client_id: str) -> CareProfile | None:
        p = ct.client_care_profile
        async with self._engine.connect() as conn:
            row = (await conn.execute(p.select().where(p.c.client_id == client_id))).first()
        return CareProfile(row.client_id, row.team, row.km_per_visit) if row else None

    async def set_care_profile(self, profile: CareProfile) -> None:
        p = ct.client_care_profile
        values = {
            "team": profile.team,
            "km_per_visit": profile.km_per_visit,
            "updated_at": sa.func.now(),
        }
        insert = self._insert(p).values(client_id=profile.client_id, **values)
        async with self._engine.begin() as conn:
            await conn.execute(
                insert.on_conflict_do_update(index_elements=[p.c.client_id], set_=values)
            )

    # ---- check-ins -----------------------------------------------------------------------

    async def add_checkins(self, checkins: Sequence[Checkin]) -> int:
        c = ct.checkin
        added = 0
        async with self._engine.begin() as conn:
            for start in range(0, len(checkins), _INSERT_CHUNK):
                chunk = checkins[start : start + _INSERT_CHUNK]
                existing = set(
                    await conn.scalars(sa.select(c.c.id).where(c.c.id.in_([x.id for x in chunk])))
                )
                fresh = [_checkin_values(x) for x in chunk if x.id not in existing]
                if fresh:
                    # Another server may expand the same day meanwhile: ids are the same.
                    insert = self._insert(c).on_conflict_do_nothing(index_elements=[c.c.id])
                    await conn.execute(insert, fresh)
                    added += len(fresh)
        return added

    async def checkin(self, checkin_id: str) -> Checkin | None:
        c = ct.checkin
        async with self._engine.connect() as conn:
            row = (await conn.execute(c.select().where(c.c.id == checkin_id))).first()
        return _checkin(row) if row else None

    async def checkins_between(
        self, lo: datetime, hi: datetime, client_id: str | None = None
    ) -> list[Checkin]:
        c = ct.checkin
        query = (
            c.select()
            .where(c.c.scheduled_at >= lo, c.c.scheduled_at < hi)
            .order_by(c.c.scheduled_at, c.c.id)
        )
        if client_id is not None:
            query = query.where(c.c.client_id == client_id)
        async with self._engine.connect() as conn:
            return [_checkin(row) for row in await conn.execute(query)]

    async def open_checkins(self, client_id: str) -> list[Checkin]:
        c = ct.checkin
        query = (
            c.select()
            .where(
                c.c.client_id == client_id,
                c.c.status.in_(sorted(s.value for s in OPEN_STATUSES)),
            )
            .order_by(c.c.scheduled_at, c.c.id)
        )
        async with self._engine.connect() as conn:
            return [_checkin(row) for row in await conn.execute(query)]

    async def actionable(self, now: datetime, limit: int) -> list[Checkin]:
        c = ct.checkin
        query = (
            c.select()
            .where(c.c.next_action_at.is_not(None), c.c.next_action_at <= now)
            .order_by(c.c.next_action_at, c.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_checkin(row) for row in await conn.execute(query)]

    async def next_action_at(self) -> datetime | None:
        c = ct.checkin
        async with self._engine.connect() as conn:
            value: datetime | None = (
                await conn.execute(sa.select(sa.func.min(c.c.next_action_at)))
            ).scalar()
        return value

    async def apply_step(self, step: Step, escalation: Escalation | None = None) -> bool:
        async with self._engine.begin() as conn:
            if not await self._transition(conn, step.before, step.after):
                return False
            await conn.execute(ct.checkin_event.insert().values(**_event_values(step.event)))
            if escalation is not None and step.action is Action.ESCALATE:
                insert = self._insert(ct.escalation).on_conflict_do_nothing(
                    index_elements=[ct.escalation.c.checkin_id]
                )
                await conn.execute(insert.values(**_escalation_values(escalation)))
            elif escalation is not None and step.action is Action.HOME_VISIT:
                e = ct.escalation
                await conn.execute(
                    e.update()
                    .where(e.c.checkin_id == step.before.id, e.c.resolved_at.is_(None))
                    .values(
                        stage=EscalationStage.HOME_VISIT.value,
                        home_visit_at=escalation.home_visit_at,
                        message=escalation.message[:300],
                    )
                )
        return True

    async def record_outcome(
        self, before: Checkin, after: Checkin, recorded: RecordedOutcome, event: CheckinEvent
    ) -> bool:
        try:
            return await self._record_outcome(before, after, recorded, event)
        except sa.exc.DBAPIError as exc:
            # The statement's parameters hold the glucose value and the note: a traceback
            # of this error must never carry them into a log.
            raise OutcomeNotStored(type(exc.orig).__name__) from None

    async def _record_outcome(
        self, before: Checkin, after: Checkin, recorded: RecordedOutcome, event: CheckinEvent
    ) -> bool:
        async with self._engine.begin() as conn:
            if not await self._transition(conn, before, after):
                return False
            await conn.execute(
                ct.checkin_outcome.insert().values(
                    checkin_id=recorded.checkin_id,
                    client_id=recorded.client_id,
                    outcome=recorded.outcome.value,
                    glucose_mmol_l=recorded.glucose_mmol_l,
                    note=recorded.note,
                    recorded_by=recorded.recorded_by,
                    recorded_role=recorded.recorded_role,
                    recorded_at=recorded.recorded_at,
                )
            )
            if recorded.glucose_mmol_l is not None:
                await conn.execute(
                    ct.measurement.insert().values(
                        client_id=recorded.client_id,
                        kind=CheckinKind.GLUCOSE.value,
                        value=recorded.glucose_mmol_l,
                        unit="mmol/L",
                        measured_at=recorded.recorded_at,
                        checkin_id=recorded.checkin_id,
                        recorded_by=recorded.recorded_by,
                    )
                )
            await conn.execute(ct.checkin_event.insert().values(**_event_values(event)))
            e = ct.escalation
            await conn.execute(
                e.update()
                .where(e.c.checkin_id == before.id, e.c.resolved_at.is_(None))
                .values(
                    resolved_at=recorded.recorded_at,
                    resolved_by=recorded.recorded_by,
                    resolution=Resolution.OUTCOME.value,
                )
            )
        return True

    async def _transition(self, conn: AsyncConnection, before: Checkin, after: Checkin) -> bool:
        c = ct.checkin
        where = [c.c.id == before.id, c.c.status == before.status.value]
        where.append(c.c.attempts == before.attempts)
        if before.next_action_at is None:
            where.append(c.c.next_action_at.is_(None))
        else:
            where.append(c.c.next_action_at == before.next_action_at)
        result = await conn.execute(c.update().where(*where).values(**_state_values(after)))
        return result.rowcount == 1

    async def outcome(self, checkin_id: str) -> RecordedOutcome | None:
        o = ct.checkin_outcome
        async with self._engine.connect() as conn:
            row = (await conn.execute(o.select().where(o.c.checkin_id == checkin_id))).first()
        if row is None:
            return None
        return RecordedOutcome(
            checkin_id=row.checkin_id,
            client_id=row.client_id,
            outcome=Outcome(row.outcome),
            glucose_mmol_l=row.glucose_mmol_l,
            note=row.note,
            recorded_by=row.recorded_by,
            recorded_role=row.recorded_role,
            recorded_at=row.recorded_at,
        )

    async def events(self, checkin_id: str) -> list[CheckinEvent]:
        ev = ct.checkin_event
        query = ev.select().where(ev.c.checkin_id == checkin_id).order_by(ev.c.id)
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(query))
        return [
            CheckinEvent(
                row.checkin_id,
                row.at,
                CheckinStatus(row.from_status),
                CheckinStatus(row.to_status),
                Actor(row.actor_role, row.actor_id),
                row.detail,
            )
            for row in rows
        ]

    # ---- escalations ---------------------------------------------------------------------

    async def open_escalations(self) -> list[Escalation]:
        e = ct.escalation
        query = e.select().where(e.c.resolved_at.is_(None)).order_by(e.c.created_at, e.c.id)
        async with self._engine.connect() as conn:
            return [_escalation(row) for row in await conn.execute(query)]

    async def escalation(self, escalation_id: str) -> Escalation | None:
        e = ct.escalation
        async with self._engine.connect() as conn:
            row = (await conn.execute(e.select().where(e.c.id == escalation_id))).first()
        return _escalation(row) if row else None

    async def close_escalation(
        self, task: Escalation, before: Checkin, after: Checkin, event: CheckinEvent, note: str
    ) -> bool:
        e = ct.escalation
        async with self._engine.begin() as conn:
            if not await self._transition(conn, before, after):
                return False
            await conn.execute(ct.checkin_event.insert().values(**_event_values(event)))
            await conn.execute(
                e.update()
                .where(e.c.id == task.id, e.c.resolved_at.is_(None))
                .values(
                    resolved_at=event.at,
                    resolved_by=event.actor.subject_id,
                    resolution=Resolution.NOTE.value,
                    note=note,
                )
            )
        return True

    # ---- helpers -------------------------------------------------------------------------

    def _insert(self, table: sa.Table) -> Any:
        """INSERT with ON CONFLICT support in this engine's dialect."""
        if self._engine.dialect.name == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)


def _item_values(item: PlanItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "client_id": item.client_id,
        "kind": item.kind.value,
        "label": item.label,
        "medication": item.medication,
        "dose": item.dose,
        "weekdays": weekdays_mask(item.weekdays),
        "times": format_times(item.times),
        "window_min": item.window_min,
        "remind": item.remind,
        "completed_by": item.completed_by.value,
        "active": item.active,
        "created_by": item.created_by,
        "created_at": item.created_at or sa.func.now(),
    }


def _item(row: Any) -> PlanItem:
    return PlanItem(
        id=row.id,
        client_id=row.client_id,
        kind=CheckinKind(row.kind),
        label=row.label,
        weekdays=weekdays_from_mask(row.weekdays),
        times=parse_times(row.times),
        window_min=row.window_min,
        remind=bool(row.remind),
        completed_by=Completer(row.completed_by),
        medication=row.medication,
        dose=row.dose,
        active=bool(row.active),
        created_by=row.created_by,
        created_at=row.created_at,
        ended_at=row.ended_at,
    )


def _state_values(c: Checkin) -> dict[str, Any]:
    return {
        "status": c.status.value,
        "attempts": c.attempts,
        "next_action_at": c.next_action_at,
        "due_at": c.due_at,
        "missed_at": c.missed_at,
        "escalated_at": c.escalated_at,
        "home_visit_at": c.home_visit_at,
        "done_at": c.done_at,
        "done_by": c.done_by,
        "outcome": c.outcome.value if c.outcome else None,
    }


def _checkin_values(c: Checkin) -> dict[str, Any]:
    return {
        "id": c.id,
        "client_id": c.client_id,
        "plan_item_id": c.plan_item_id,
        "kind": c.kind.value,
        "label": c.label,
        "detail": c.detail,
        "local_date": c.local_date,
        "local_time": c.local_time.strftime("%H:%M"),
        "scheduled_at": c.scheduled_at,
        "opens_at": c.opens_at,
        "closes_at": c.closes_at,
        "window_min": int(c.window.total_seconds() // 60),
        "completed_by": c.completed_by.value,
        "remind": c.remind,
        **_state_values(c),
    }


def _checkin(row: Any) -> Checkin:
    hours, minutes = row.local_time.split(":")
    return Checkin(
        id=row.id,
        client_id=row.client_id,
        plan_item_id=row.plan_item_id,
        kind=CheckinKind(row.kind),
        label=row.label,
        detail=row.detail,
        local_date=row.local_date,
        local_time=time(int(hours), int(minutes)),
        scheduled_at=row.scheduled_at,
        window=timedelta(minutes=row.window_min),
        completed_by=Completer(row.completed_by),
        remind=bool(row.remind),
        status=CheckinStatus(row.status),
        attempts=row.attempts,
        next_action_at=row.next_action_at,
        due_at=row.due_at,
        missed_at=row.missed_at,
        escalated_at=row.escalated_at,
        home_visit_at=row.home_visit_at,
        done_at=row.done_at,
        done_by=row.done_by,
        outcome=Outcome(row.outcome) if row.outcome else None,
    )


def _event_values(event: CheckinEvent) -> dict[str, Any]:
    return {
        "checkin_id": event.checkin_id,
        "at": event.at,
        "from_status": event.from_status.value,
        "to_status": event.to_status.value,
        "actor_role": event.actor.role,
        "actor_id": event.actor.subject_id,
        "detail": event.detail[:200],
    }


def _escalation_values(e: Escalation) -> dict[str, Any]:
    return {
        "id": e.id,
        "checkin_id": e.checkin_id,
        "client_id": e.client_id,
        "stage": e.stage.value,
        "message": e.message[:300],
        "created_at": e.created_at,
        "home_visit_at": e.home_visit_at,
        "note": e.note,
    }


def _escalation(row: Any) -> Escalation:
    return Escalation(
        id=row.id,
        checkin_id=row.checkin_id,
        client_id=row.client_id,
        stage=EscalationStage(row.stage),
        message=row.message,
        created_at=row.created_at,
        home_visit_at=row.home_visit_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        resolution=Resolution(row.resolution) if row.resolution else None,
        note=row.note,
    )
