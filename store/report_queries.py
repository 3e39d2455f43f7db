"""Reports as SQL aggregates (care_sessions.reports defines what each figure means).

Every figure is computed by the database: counts and sums with GROUP BY, medians with
percentile_cont on PostgreSQL and a window-function query on SQLite (which has no median).
No query returns more rows than there are clients or weeks in the report.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from care_sessions.care_plans import POSITIVE_OUTCOMES
from care_sessions.checkins import CheckinStatus
from care_sessions.identity import Client
from care_sessions.records import EndReason
from care_sessions.reports import (
    MEAL_ROOM_KIND,
    VIRTUAL_VISIT_KINDS,
    ClientRow,
    ReportRequest,
    ReportTotals,
    WeekRow,
)
from store import care_tables as ct
from store import room_store as rooms
from store import tables as t

Expr = sa.ColumnElement[Any]
_NOT_DUE = (CheckinStatus.SCHEDULED.value, CheckinStatus.CANCELLED.value)
_POSITIVE = tuple(sorted(outcome.value for outcome in POSITIVE_OUTCOMES))


class SqlReportQueries:
    """ReportSource over SQLAlchemy Core; the same queries on SQLite and PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    # ---- building blocks -----------------------------------------------------------------

    def _seconds(self, start: Expr, end: Expr) -> Expr:
        """end - start in seconds, as a float."""
        if self._postgres:
            return sa.cast(sa.extract("epoch", end - start), sa.Float)
        # julianday() counts days in a double: about 50 microseconds of noise in seconds,
        # which rounding to the millisecond removes.
        return sa.func.round((sa.func.julianday(end) - sa.func.julianday(start)) * 86400.0, 3)

    async def _median(self, conn: AsyncConnection, values: sa.Select[Any]) -> float | None:
        """Median of a one-column select (NULLs are left out), computed by the database."""
        inner = values.subquery("v")
        x = inner.c[0]
        if self._postgres:
            query: sa.Select[Any] = sa.select(sa.func.percentile_cont(0.5).within_group(x))
            query = query.where(x.is_not(None))
        else:
            ranked = (
                sa.select(
                    x.label("x"),
                    sa.func.row_number().over(order_by=x).label("rn"),
                    sa.func.count().over().label("n"),
                )
                .where(x.is_not(None))
                .subquery("ranked")
            )
            middle = ((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2)
            query = sa.select(sa.func.avg(ranked.c.x)).where(ranked.c.rn.in_(middle))
        value = (await conn.execute(query)).scalar()
        return None if value is None else float(value)

    @staticmethod
    def _scope(request: ReportRequest, client_col: Expr) -> list[Expr]:
        """The team and client filters, on whichever table carries the client id."""
        where: list[Expr] = []
        if request.client_id:
            where.append(client_col == request.client_id)
        if request.team:
            where.append(
                client_col.in_(
                    sa.select(ct.client_care_profile.c.client_id).where(
                        ct.client_care_profile.c.team == request.team
                    )
                )
            )
        return where

    def _session_aggregates(self, request: ReportRequest) -> list[Expr]:
        s = t.care_session
        visit = sa.and_(s.c.kind.in_(VIRTUAL_VISIT_KINDS), s.c.answer_at.is_not(None))
        km = sa.func.coalesce(ct.client_care_profile.c.km_per_visit, request.km_per_visit)
        km_sum = sa.func.coalesce(sa.func.sum(sa.case((visit, km))), 0.0)
        minutes = sa.case(
            (sa.and_(visit, s.c.end_at.is_not(None)), self._seconds(s.c.answer_at, s.c.end_at))
        )
        return [
            sa.func.count().filter(visit).label("virtual_visits"),
            (sa.func.coalesce(sa.func.sum(minutes), 0.0) / 60.0).label("visit_minutes"),
            km_sum.label("km_avoided"),
            (km_sum * request.emission_g_per_km / 1000.0).label("co2_kg"),
        ]

    def _sessions_from(self, request: ReportRequest) -> sa.Select[Any]:
        """Sessions rung in the period, with each client's km per visit beside them."""
        s = t.care_session
        profile = ct.client_care_profile
        return (
            sa.select()
            .select_from(s.outerjoin(profile, profile.c.client_id == s.c.client_id))
            .where(
                s.c.ring_at >= request.lo,
                s.c.ring_at < request.hi,
                *self._scope(request, s.c.client_id),
            )
        )

    @staticmethod
    def _checkin_aggregates() -> list[Expr]:
        c = ct.checkin
        due = sa.func.count().filter(c.c.status.not_in(_NOT_DUE))
        positive = sa.func.count().filter(c.c.outcome.in_(_POSITIVE))
        return [
            due.label("checkins_due"),
            sa.func.count().filter(c.c.status == CheckinStatus.DONE.value).label("checkins_done"),
            sa.func.count().filter(c.c.missed_at.is_not(None)).label("checkins_missed"),
            sa.func.count().filter(c.c.escalated_at.is_not(None)).label("checkins_escalated"),
            (100.0 * positive / sa.func.nullif(due, 0)).label("adherence_pct"),
        ]

    def _checkins_where(self, request: ReportRequest) -> list[Expr]:
        c = ct.checkin
        return [
            c.c.scheduled_at >= request.lo,
            c.c.scheduled_at < request.hi,
            *self._scope(request, c.c.client_id),
        ]

    # ---- the report ----------------------------------------------------------------------

    async def report_totals(self, request: ReportRequest) -> ReportTotals:
        s = t.care_session
        answered = sa.and_(s.c.kind.in_(VIRTUAL_VISIT_KINDS), s.c.answer_at.is_not(None))
        sessions = self._sessions_from(request).add_columns(
            *self._session_aggregates(request),
            sa.func.count().filter(s.c.kind.in_(VIRTUAL_VISIT_KINDS)).label("calls_placed"),
            (
                100.0
                * sa.func.count().filter(sa.and_(answered, s.c.media_at.is_not(None)))
                / sa.func.nullif(sa.func.count().filter(answered), 0)
            ).label("media_connected_pct"),
            sa.func.count()
            .filter(s.c.end_reason == EndReason.MEDIA_FAILED.value)
            .label("media_failed"),
        )
        checkins = sa.select(*self._checkin_aggregates()).where(*self._checkins_where(request))
        e = ct.escalation
        escalation_where = [
            e.c.created_at >= request.lo,
            e.c.created_at < request.hi,
            *self._scope(request, e.c.client_id),
        ]
        h = t.help_request
        help_where = [
            h.c.created_at >= request.lo,
            h.c.created_at < request.hi,
            *self._scope(request, h.c.client_id),
        ]
        async with self._engine.connect() as conn:
            srow = (await conn.execute(sessions)).one()
            crow = (await conn.execute(checkins)).one()
            escalations = (
                await conn.execute(sa.select(sa.func.count()).where(*escalation_where))
            ).scalar_one()
            escalation_median_s = await self._median(
                conn,
                sa.select(self._seconds(e.c.created_at, e.c.resolved_at)).where(
                    *escalation_where, e.c.resolved_at.is_not(None)
                ),
            )
            help_calls = (
                await conn.execute(sa.select(sa.func.count()).where(*help_where))
            ).scalar_one()
            help_median = await self._median(
                conn,
                sa.select(self._seconds(h.c.created_at, h.c.taken_at)).where(
                    *help_where, h.c.taken_at.is_not(None)
                ),
            )
            media_setup = await self._median(
                conn,
                self._sessions_from(request)
                .add_columns(self._seconds(s.c.answer_at, s.c.media_at))
                .where(answered, s.c.media_at.is_not(None)),
            )
            meal = await self._meal_room_attendance(conn, request)
        return ReportTotals(
            virtual_visits=srow.virtual_visits,
            visit_minutes=float(srow.visit_minutes),
            checkins_due=crow.checkins_due,
            checkins_done=crow.checkins_done,
            checkins_missed=crow.checkins_missed,
            checkins_escalated=crow.checkins_escalated,
            adherence_pct=_float(crow.adherence_pct),
            escalations=escalations,
            escalation_median_min=(
                None if escalation_median_s is None else escalation_median_s / 60.0
            ),
            help_calls=help_calls,
            help_answer_median_s=help_median,
            meal_room_attendance=meal,
            calls_placed=srow.calls_placed,
            media_connected_pct=_float(srow.media_connected_pct),
            media_failed=srow.media_failed,
            media_setup_median_s=media_setup,
            km_avoided=float(srow.km_avoided),
            co2_kg=float(srow.co2_kg),
        )

    async def _meal_room_attendance(self, conn: AsyncConnection, request: ReportRequest) -> int:
        """Clients' places at shared meals: one per client per meal, however often they
        dropped and rejoined (rooms.room_visit keeps each stay)."""
        v, rs, mr = rooms.room_visit, rooms.room_session, rooms.meal_room
        attended = (
            sa.select(v.c.session_id, v.c.subject_id)
            .select_from(v.join(rs, rs.c.id == v.c.session_id).join(mr, mr.c.id == rs.c.room_id))
            .where(
                mr.c.kind == MEAL_ROOM_KIND,
                v.c.role == "client",
                rs.c.opened_at >= request.lo,
                rs.c.opened_at < request.hi,
                *self._scope(request, v.c.subject_id),
            )
            .group_by(v.c.session_id, v.c.subject_id)
            .subquery("attended")
        )
        query = sa.select(sa.func.count()).select_from(attended)
        return int((await conn.execute(query)).scalar_one())

    async def report_by_client(self, request: ReportRequest) -> list[ClientRow]:
        s = t.care_session
        c = ct.checkin
        cl = t.client
        profile = ct.client_care_profile
        visits = (
            self._sessions_from(request)
            .add_columns(s.c.client_id, *self._session_aggregates(request))
            .group_by(s.c.client_id)
            .subquery("visits")
        )
        checkins = (
            sa.select(c.c.client_id, *self._checkin_aggregates())
            .where(*self._checkins_where(request))
            .group_by(c.c.client_id)
            .subquery("checkins")
        )
        query = (
            sa.select(
                cl.c.id,
                cl.c.first_name,
                cl.c.last_name,
                sa.func.coalesce(profile.c.team, "").label("team"),
                sa.func.coalesce(visits.c.virtual_visits, 0).label("virtual_visits"),
                sa.func.coalesce(visits.c.visit_minutes, 0.0).label("visit_minutes"),
                sa.func.coalesce(visits.c.km_avoided, 0.0).label("km_avoided"),
                sa.func.coalesce(visits.c.co2_kg, 0.0).label("co2_kg"),
                sa.func.coalesce(checkins.c.checkins_due, 0).label("checkins_due"),
                sa.func.coalesce(checkins.c.checkins_done, 0).label("checkins_done"),
                sa.func.coalesce(checkins.c.checkins_missed, 0).label("checkins_missed"),
                sa.func.coalesce(checkins.c.checkins_escalated, 0).label("checkins_escalated"),
                checkins.c.adherence_pct,
            )
            .select_from(
                cl.outerjoin(profile, profile.c.client_id == cl.c.id)
                .outerjoin(visits, visits.c.client_id == cl.c.id)
                .outerjoin(checkins, checkins.c.client_id == cl.c.id)
            )
            .where(
                sa.or_(visits.c.client_id.is_not(None), checkins.c.client_id.is_not(None)),
                *self._scope(request, cl.c.id),
            )
            .order_by(cl.c.first_name, cl.c.last_name, cl.c.id)
        )
        async with self._engine.connect() as conn:
            rows = list(await conn.execute(query))
        return [
            ClientRow(
                client_id=row.id,
                name=Client(row.id, row.first_name, row.last_name).display_name,
                team=row.team,
                virtual_visits=row.virtual_visits,
                visit_minutes=float(row.visit_minutes),
                checkins_due=row.checkins_due,
                checkins_done=row.checkins_done,
                checkins_missed=row.checkins_missed,
                checkins_escalated=row.checkins_escalated,
                adherence_pct=_float(row.adherence_pct),
                km_avoided=float(row.km_avoided),
                co2_kg=float(row.co2_kg),
            )
            for row in rows
        ]

    async def report_by_week(self, request: ReportRequest) -> list[WeekRow]:
        weeks = request.weeks()
        s = t.care_session
        c = ct.checkin

        def bucket(column: Expr) -> Expr:
            # Weeks are consecutive: the first upper bound a time is under names its week.
            return sa.case(*((column < week.hi, index) for index, week in enumerate(weeks)))

        session_week = bucket(s.c.ring_at).label("week")
        visits = (
            self._sessions_from(request)
            .add_columns(session_week, *self._session_aggregates(request))
            .group_by(session_week)
        )
        checkin_week = bucket(c.c.scheduled_at).label("week")
        checkins = (
            sa.select(checkin_week, *self._checkin_aggregates())
            .where(*self._checkins_where(request))
            .group_by(checkin_week)
        )
        async with self._engine.connect() as conn:
            by_visit = {row.week: row for row in await conn.execute(visits)}
            by_checkin = {row.week: row for row in await conn.execute(checkins)}
        rows = []
        for index, week in enumerate(weeks):
            v = by_visit.get(index)
            k = by_checkin.get(index)
            rows.append(
                WeekRow(
                    week_start=week.start,
                    virtual_visits=v.virtual_visits if v else 0,
                    visit_minutes=float(v.visit_minutes) if v else 0.0,
                    checkins_due=k.checkins_due if k else 0,
                    checkins_done=k.checkins_done if k else 0,
                    checkins_missed=k.checkins_missed if k else 0,
                    checkins_escalated=k.checkins_escalated if k else 0,
                    adherence_pct=_float(k.adherence_pct) if k else None,
                )
            )
        return rows

    async def teams(self) -> list[str]:
        profile = ct.client_care_profile
        query = sa.select(profile.c.team).where(profile.c.team != "").distinct()
        async with self._engine.connect() as conn:
            return sorted(row.team for row in await conn.execute(query))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
