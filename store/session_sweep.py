"""Session records left open by calls nobody holds any more: found and closed by the sweep."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from care_sessions.records import EndReason, SessionRecord
from store import tables as t
from store.sql_store import SqlStore


class SqlOpenCalls:
    """The open-call rows of care_services/call_sweep.py on SQLAlchemy Core."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sessions = SqlStore(engine)

    async def open_calls(self, started_before: datetime, limit: int = 100) -> list[SessionRecord]:
        """Records without an end whose call rang before `started_before`, oldest first."""
        query = (
            sa.select(t.care_session.c.id)
            .where(t.care_session.c.end_at.is_(None), t.care_session.c.ring_at < started_before)
            .order_by(t.care_session.c.ring_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            ids = [row.id for row in await conn.execute(query)]
        records = [await self._sessions.session(session_id) for session_id in ids]
        return [record for record in records if record is not None]

    async def close_orphaned(self, session_id: str, at: datetime) -> bool:
        """End a record as orphaned unless someone ended it meanwhile; True if this did."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                t.care_session.update()
                .where(t.care_session.c.id == session_id, t.care_session.c.end_at.is_(None))
                .values(end_at=at, end_reason=EndReason.ORPHANED.value)
            )
        return bool(result.rowcount)
