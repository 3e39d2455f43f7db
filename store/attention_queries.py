"""The attention list's facts (per-client SQL aggregates) and its stored flags."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.attention import (
    AttentionFlag,
    ClientFact,
    FactKind,
    FactQuery,
    FlagAction,
    RaisedFlag,
)
from care_sessions.care_plans import CheckinKind, Outcome
from care_sessions.checkins import CheckinStatus
from store import care_tables as ct
from store import tables as t
from store.tables import UtcDateTime

# How far back "last contact" looks; older contacts read as none at all.
CONTACT_LOOKBACK = timedelta(days=90)


class SqlAttentionStore:
    """AttentionStore over SQLAlchemy Core."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def attention_facts(self, query: FactQuery) -> list[ClientFact]:
        statement = _FACT_QUERIES[query.kind](query)
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(statement))
        return [
            ClientFact(
                client_id=row.client_id,
                count=int(row.count or 0),
                total=int(row.total or 0),
                last_at=row.last_at,
                label=row.label or "",
            )
            for row in rows
        ]

    async def flags_for_rule(self, rule_id: str, resolved_since: datetime) -> list[AttentionFlag]:
        f = ct.attention_flag
        query = f.select().where(
            f.c.rule_id == rule_id,
            sa.or_(f.c.resolved_at.is_(None), f.c.resolved_at >= resolved_since),
        )
        async with self._engine.connect() as conn:
            return [_flag(row) for row in await conn.execute(query)]

    async def open_flags(self) -> list[AttentionFlag]:
        f = ct.attention_flag
        query = f.select().where(f.c.resolved_at.is_(None)).order_by(f.c.raised_at, f.c.id)
        async with self._engine.connect() as conn:
            return [_flag(row) for row in await conn.execute(query)]

    async def flag(self, flag_id: str) -> AttentionFlag | None:
        f = ct.attention_flag
        async with self._engine.connect() as conn:
            row = (await conn.execute(f.select().where(f.c.id == flag_id))).first()
        return _flag(row) if row else None

    async def add_flags(self, flags: Sequence[RaisedFlag], at: datetime) -> list[AttentionFlag]:
        added = [
            AttentionFlag(str(uuid.uuid4()), flag.client_id, flag.rule_id, flag.reason, at)
            for flag in flags
        ]
        if added:
            async with self._engine.begin() as conn:
                await conn.execute(
                    ct.attention_flag.insert(),
                    [
                        {
                            "id": flag.id,
                            "client_id": flag.client_id,
                            "rule_id": flag.rule_id,
                            "reason": flag.reason[:300],
                            "raised_at": at,
                            "note": "",
                        }
                        for flag in added
                    ],
                )
        return added

    async def reword_flag(self, flag_id: str, reason: str) -> None:
        f = ct.attention_flag
        async with self._engine.begin() as conn:
            await conn.execute(
                f.update()
                .where(f.c.id == flag_id, f.c.resolved_at.is_(None))
                .values(reason=reason[:300])
            )

    async def resolve_flag(
        self, flag_id: str, *, by: str | None, at: datetime, action: FlagAction, note: str
    ) -> bool:
        f = ct.attention_flag
        async with self._engine.begin() as conn:
            result = await conn.execute(
                f.update()
                .where(f.c.id == flag_id, f.c.resolved_at.is_(None))
                .values(resolved_at=at, resolved_by=by, action=action.value, note=note)
            )
        return bool(result.rowcount)


# ---- one query per kind of fact ----------------------------------------------------------


def _medication_adherence(q: FactQuery) -> sa.Select[Any]:
    c = ct.checkin
    closed = sa.or_(c.c.status == CheckinStatus.DONE.value, c.c.missed_at.is_not(None))
    return (
        sa.select(
            c.c.client_id,
            sa.func.count().filter(c.c.outcome == Outcome.TAKEN.value).label("count"),
            sa.func.count().label("total"),
            sa.null().label("last_at"),
            sa.null().label("label"),
        )
        .where(
            c.c.kind == CheckinKind.MEDICATION.value,
            c.c.scheduled_at >= q.since,
            c.c.scheduled_at < q.until,
            closed,
        )
        .group_by(c.c.client_id)
    )


def _glucose_out_of_range(q: FactQuery) -> sa.Select[Any]:
    m = ct.measurement
    return (
        sa.select(
            m.c.client_id,
            sa.func.count().label("count"),
            sa.null().label("total"),
            sa.null().label("last_at"),
            sa.null().label("label"),
        )
        .where(
            m.c.kind == CheckinKind.GLUCOSE.value,
            m.c.measured_at >= q.since,
            m.c.measured_at < q.until,
            sa.or_(m.c.value < q.low, m.c.value > q.high),
        )
        .group_by(m.c.client_id)
    )


def _last_contact(q: FactQuery) -> sa.Select[Any]:
    """Each client's last answered call, or when the client was added if that is later."""
    cl = t.client
    s = t.care_session
    lookback = q.until - CONTACT_LOOKBACK
    answered = (
        sa.select(s.c.client_id, sa.func.max(s.c.answer_at).label("answered"))
        .where(s.c.ring_at >= lookback, s.c.ring_at < q.until, s.c.answer_at.is_not(None))
        .group_by(s.c.client_id)
        .subquery("answered")
    )
    since_added = sa.case((cl.c.created_at > lookback, cl.c.created_at))
    last = sa.case(
        (
            sa.and_(answered.c.answered.is_not(None), answered.c.answered >= since_added),
            answered.c.answered,
        ),
        (since_added.is_not(None), since_added),
        else_=answered.c.answered,
    )
    return sa.select(
        cl.c.id.label("client_id"),
        sa.null().label("count"),
        sa.null().label("total"),
        sa.type_coerce(last, UtcDateTime).label("last_at"),
        sa.null().label("label"),
    ).select_from(cl.outerjoin(answered, answered.c.client_id == cl.c.id))


def _missed_by_time_of_day(q: FactQuery) -> sa.Select[Any]:
    c = ct.checkin
    return (
        sa.select(
            c.c.client_id,
            sa.func.count().label("count"),
            sa.null().label("total"),
            sa.null().label("last_at"),
            c.c.local_time.label("label"),
        )
        .where(
            c.c.scheduled_at >= q.since,
            c.c.scheduled_at < q.until,
            c.c.missed_at.is_not(None),
        )
        .group_by(c.c.client_id, c.c.local_time)
    )


_FACT_QUERIES = {
    FactKind.MEDICATION_ADHERENCE: _medication_adherence,
    FactKind.GLUCOSE_OUT_OF_RANGE: _glucose_out_of_range,
    FactKind.LAST_CONTACT: _last_contact,
    FactKind.MISSED_BY_TIME_OF_DAY: _missed_by_time_of_day,
}


def _flag(row: Any) -> AttentionFlag:
    return AttentionFlag(
        id=row.id,
        client_id=row.client_id,
        rule_id=row.rule_id,
        reason=row.reason,
        raised_at=row.raised_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        action=FlagAction(row.action) if row.action else None,
        note=row.note,
    )
