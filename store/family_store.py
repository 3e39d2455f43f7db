"""Family contacts in SQL (care_sessions.family.FamilyStore)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.family import FamilyContact
from store import tables as t


class SqlFamilyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add_family_contact(self, contact: FamilyContact, token_digest: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.family_contact.insert().values(
                    id=contact.id,
                    client_id=contact.client_id,
                    name=contact.name,
                    relation=contact.relation,
                    token_digest=token_digest,
                    created_at=contact.created_at,
                    created_by=contact.created_by,
                )
            )

    async def family_contacts(self, client_id: str) -> list[FamilyContact]:
        query = (
            t.family_contact.select()
            .where(t.family_contact.c.client_id == client_id)
            .order_by(t.family_contact.c.created_at)
        )
        async with self._engine.connect() as conn:
            return [_contact(row) for row in await conn.execute(query)]

    async def family_contact(self, contact_id: str) -> FamilyContact | None:
        query = t.family_contact.select().where(t.family_contact.c.id == contact_id)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _contact(row) if row else None

    async def family_contact_by_token(self, token_digest: str) -> FamilyContact | None:
        query = t.family_contact.select().where(t.family_contact.c.token_digest == token_digest)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _contact(row) if row else None

    async def revoke_family_contact(
        self, contact_id: str, at: datetime, by: str
    ) -> FamilyContact | None:
        async with self._engine.begin() as conn:
            await conn.execute(
                t.family_contact.update()
                .where(t.family_contact.c.id == contact_id, t.family_contact.c.revoked_at.is_(None))
                .values(revoked_at=at, revoked_by=by)
            )
        return await self.family_contact(contact_id)


def _contact(row: Any) -> FamilyContact:
    return FamilyContact(
        id=row.id,
        client_id=row.client_id,
        name=row.name,
        relation=row.relation,
        created_at=row.created_at,
        created_by=row.created_by,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )
