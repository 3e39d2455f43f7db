"""The access log and consent ledger on SQLAlchemy Core; implements their domain ports."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.access_log import AccessAction, AccessEntry, AccessQuery, DataKind, Purpose
from care_sessions.consent import ConsentPurpose, ConsentRecord
from care_sessions.errors import InvalidState
from care_sessions.identity import Role
from store import trust_tables as t


class TrustStore:
    """Append and query; there is deliberately no update or delete here (nor in the DB)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def append_access(self, entries: list[AccessEntry]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.access_log.insert(),
                [
                    {
                        "id": e.id,
                        "at": e.at,
                        "actor_role": e.actor_role.value,
                        "actor_id": e.actor_id,
                        "actor_name": e.actor_name,
                        "client_id": e.client_id,
                        "action": e.action.value,
                        "data": e.data.value,
                        "purpose": e.purpose.value,
                        "detail": e.detail,
                    }
                    for e in entries
                ],
            )

    async def search_access(self, query: AccessQuery) -> list[AccessEntry]:
        c = t.access_log.c
        conditions: list[Any] = []
        if query.client_id is not None:
            conditions.append(c.client_id == query.client_id)
        if query.actor_id is not None:
            conditions.append(c.actor_id == query.actor_id)
        if query.since is not None:
            conditions.append(c.at >= query.since)
        if query.until is not None:
            conditions.append(c.at < query.until)
        statement = (
            t.access_log.select()
            .where(sa.and_(sa.true(), *conditions))
            .order_by(c.at.desc(), c.id)
            .limit(max(1, min(query.limit, 5000)))
        )
        async with self._engine.connect() as conn:
            rows = await conn.execute(statement)
            return [
                AccessEntry(
                    id=row.id,
                    at=row.at,
                    actor_role=Role(row.actor_role),
                    actor_id=row.actor_id,
                    actor_name=row.actor_name,
                    client_id=row.client_id,
                    action=AccessAction(row.action),
                    data=DataKind(row.data),
                    purpose=Purpose(row.purpose),
                    detail=row.detail,
                )
                for row in rows
            ]

    async def append_consent(self, record: ConsentRecord) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    t.consent_record.insert().values(
                        id=record.id,
                        client_id=record.client_id,
                        purpose=record.purpose.value,
                        granted=record.granted,
                        version=record.version,
                        recorded_at=record.recorded_at,
                        recorded_by=record.recorded_by,
                        note=record.note,
                    )
                )
        except IntegrityError as exc:
            raise InvalidState("the consent changed meanwhile; reload and decide again") from exc

    async def consent_history(self, client_id: str) -> list[ConsentRecord]:
        c = t.consent_record.c
        statement = (
            t.consent_record.select().where(c.client_id == client_id).order_by(c.purpose, c.version)
        )
        async with self._engine.connect() as conn:
            return [
                ConsentRecord(
                    id=row.id,
                    client_id=row.client_id,
                    purpose=ConsentPurpose(row.purpose),
                    granted=bool(row.granted),
                    version=row.version,
                    recorded_at=row.recorded_at,
                    recorded_by=row.recorded_by,
                    note=row.note,
                )
                for row in await conn.execute(statement)
            ]
