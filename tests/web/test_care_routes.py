"""The nurses' feeds: the roster with live presence, and the session log."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from care_sessions.records import EndReason, SessionKind, SessionParticipant, SessionRecord
from tablet_client.headless import HeadlessTablet
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.web.staff_client import StaffBrowser


async def test_roster_shows_presence(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    eino = await server.add_client("Eino")
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(aino))
    await tablet.start()
    try:
        async with StaffBrowser(server.url) as nurse:
            await nurse.login("nurse1", NURSE_PASSWORD)
            for _ in range(50):
                roster = await (await nurse.get("/api/clients")).json()
                by_id = {entry["id"]: entry for entry in roster}
                if by_id[aino.id]["status"] == "online":
                    break
                await asyncio.sleep(0.05)
            assert by_id[aino.id] == {
                "id": aino.id,
                "first_name": "Aino",
                "last_name": "Testinen",
                "display_name": "Aino T.",
                "status": "online",
                "last_seen": by_id[aino.id]["last_seen"],
            }
            assert by_id[aino.id]["last_seen"].endswith("Z")
            assert by_id[eino.id]["status"] == "offline"
            assert by_id[eino.id]["last_seen"] is None
    finally:
        await tablet.stop()


async def record_help_call(server: RunningServer, call_id: str, talked_s: int) -> None:
    """A help call to a new client Aino, rung 2026-11-30 09:00 UTC, answered after 4 s."""
    client = await server.add_client("Aino")
    nurse = server.nurses[0]
    ring = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    record = SessionRecord(
        id=call_id,
        kind=SessionKind.HELP_CALL,
        client_id=client.id,
        started_by=nurse.id,
        ring_at=ring,
        participants=[
            SessionParticipant("staff", nurse.id, nurse.display_name),
            SessionParticipant("client", client.id, client.display_name),
        ],
    )
    store = server.services.store
    await store.session_started(record)
    record.answer_at = ring + timedelta(seconds=4)
    record.end_at = ring + timedelta(seconds=4 + talked_s)
    record.end_reason = EndReason.DECLINED
    await store.session_updated(record)


async def test_sessions_page_and_api(server: RunningServer) -> None:
    await record_help_call(server, "call-1", talked_s=125)
    nurse = server.nurses[0]

    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        [entry] = await (await admin.get("/api/sessions")).json()
        assert entry["id"] == "call-1"
        assert entry["kind"] == "help_call"
        assert entry["client_name"] == "Aino T."
        assert entry["started_by_name"] == nurse.display_name
        assert entry["ring_at"] == "2026-11-30T09:00:00Z"
        assert entry["duration_s"] == 125
        assert entry["end_reason"] == "declined"
        page = await (await admin.get("/sessions")).text()
        for text in (
            "Aino T.",
            "Help call",
            nurse.display_name,
            "2 min 5 s",
            "Declined by the client",
            'datetime="2026-11-30T09:00:00Z"',
        ):
            assert text in page, text
