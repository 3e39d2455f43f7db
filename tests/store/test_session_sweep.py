"""The open-call sweep's rows: which records are still open, and closing one only once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from care_sessions.identity import Client
from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord
from store.session_sweep import SqlOpenCalls
from tests.store.conftest import Stores

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def _record(stores: Stores, client: Client, ring_at: datetime) -> SessionRecord:
    record = SessionRecord(
        id=str(uuid.uuid4()),
        kind=SessionKind.CALL,
        client_id=client.id,
        started_by="nurse-1",
        ring_at=ring_at,
        participants=[
            SessionParticipant("staff", "nurse-1", "Nurse"),
            SessionParticipant("client", client.id, client.display_name),
        ],
    )
    await stores.care.session_started(record)
    return record


async def test_only_old_open_records_are_listed_and_each_is_closed_once(stores: Stores) -> None:
    client = Client(str(uuid.uuid4()), "Aino", "Korhonen")
    await stores.care.add_client(client)
    old = await _record(stores, client, T0)
    young = await _record(stores, client, T0 + timedelta(minutes=10))
    ended = await _record(stores, client, T0 - timedelta(minutes=10))
    ended.end_at, ended.end_reason = T0, EndReason.COMPLETED
    await stores.care.session_updated(ended)
    rows = SqlOpenCalls(stores.engine)

    listed = await rows.open_calls(T0 + timedelta(minutes=5))
    assert [r.id for r in listed] == [old.id], "not the young one, not the ended one"
    assert {p.subject_id for p in listed[0].participants} == {"nurse-1", client.id}

    assert await rows.close_orphaned(old.id, T0 + timedelta(minutes=6))
    assert not await rows.close_orphaned(old.id, T0 + timedelta(minutes=7)), "only once"
    assert not await rows.close_orphaned(ended.id, T0 + timedelta(minutes=7))
    closed = await stores.care.session(old.id)
    assert closed is not None and closed.end_reason is EndReason.ORPHANED
    assert closed.end_at == T0 + timedelta(minutes=6)
    again = await stores.care.session(ended.id)
    assert again is not None and again.end_reason is EndReason.COMPLETED
    assert young.id not in [r.id for r in await rows.open_calls(T0 + timedelta(minutes=5))]
