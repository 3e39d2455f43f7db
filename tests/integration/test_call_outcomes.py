"""Every way a call can end leaves a record with the right times and end reason."""

from __future__ import annotations

import asyncio

from care_sessions.records import EndReason
from hoiva.app import build_services, close_services
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.integration.wire import RawSocket, staff_socket


async def _ring(server: RunningServer) -> tuple[RawSocket, RawSocket, str, str]:
    client = await server.add_client("Aino")
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    await nurse.send({"type": "call.start", "client_id": client.id})
    ringing = await nurse.expect("call.ringing")
    incoming = await tablet.expect("call.incoming")
    assert incoming["call_id"] == ringing["call_id"]
    assert incoming["caller_name"] == "Nurse1"
    return nurse, tablet, ringing["call_id"], client.id


async def _record(server: RunningServer, call_id: str):  # type: ignore[no-untyped-def]
    record = await server.services.store.session(call_id)
    assert record is not None
    return record


async def test_declined_call(server: RunningServer) -> None:
    nurse, tablet, call_id, client_id = await _ring(server)
    try:
        await tablet.send({"type": "call.decline", "call_id": call_id})
        assert (await nurse.expect("call.ended"))["reason"] == "declined"
        assert (await tablet.expect("call.ended"))["reason"] == "declined"
        record = await _record(server, call_id)
        assert record.end_reason is EndReason.DECLINED
        assert record.ended_by == client_id
        assert record.answer_at is None
        assert record.end_at is not None and record.end_at >= record.ring_at
    finally:
        await nurse.close()
        await tablet.close()


async def test_unanswered_call_times_out(server: RunningServer) -> None:
    """The test server rings for 5 s; then the call ends as unanswered for both."""
    nurse, tablet, call_id, _ = await _ring(server)
    try:
        ended = await nurse.expect("call.ended", timeout=10)
        assert ended["reason"] == "unanswered"
        assert (await tablet.expect("call.ended"))["reason"] == "unanswered"
        record = await _record(server, call_id)
        assert record.end_reason is EndReason.UNANSWERED
        assert record.ended_by is None
        assert record.end_at is not None
        assert 4.5 <= (record.end_at - record.ring_at).total_seconds() < 8
    finally:
        await nurse.close()
        await tablet.close()


async def test_answered_call_then_ended_by_client(server: RunningServer) -> None:
    nurse, tablet, call_id, client_id = await _ring(server)
    try:
        await tablet.send({"type": "call.answer", "call_id": call_id})
        await nurse.expect("call.accepted")
        await tablet.expect("call.accepted")
        await tablet.send({"type": "call.end", "call_id": call_id})
        assert (await nurse.expect("call.ended"))["reason"] == "completed"
        record = await _record(server, call_id)
        assert record.end_reason is EndReason.COMPLETED
        assert record.ended_by == client_id
        assert record.answer_at is not None and record.ring_at <= record.answer_at
    finally:
        await nurse.close()
        await tablet.close()


async def test_caller_cancels_while_ringing(server: RunningServer) -> None:
    nurse, tablet, call_id, _ = await _ring(server)
    try:
        await nurse.send({"type": "call.end", "call_id": call_id})
        assert (await tablet.expect("call.ended"))["reason"] == "cancelled"
        assert (await _record(server, call_id)).end_reason is EndReason.CANCELLED
    finally:
        await nurse.close()
        await tablet.close()


async def test_tablet_dropping_while_ringing_ends_the_call(server: RunningServer) -> None:
    nurse, tablet, call_id, client_id = await _ring(server)
    try:
        await tablet.close()
        assert (await nurse.expect("call.ended"))["reason"] == "dropped"
        record = await _record(server, call_id)
        assert (record.end_reason, record.ended_by) == (EndReason.DROPPED, client_id)
    finally:
        await nurse.close()


async def test_tablet_dropping_in_call_ends_it_after_the_grace_period(
    server: RunningServer,
) -> None:
    """An answered call survives a short drop; past the 2 s test grace it ends as dropped."""
    nurse, tablet, call_id, client_id = await _ring(server)
    try:
        await tablet.send({"type": "call.answer", "call_id": call_id})
        await nurse.expect("call.accepted")
        await tablet.close()
        await asyncio.sleep(1.0)
        assert (await _record(server, call_id)).end_at is None, "ended before the grace period"
        assert (await nurse.expect("call.ended", timeout=5))["reason"] == "dropped"
        record = await _record(server, call_id)
        assert (record.end_reason, record.ended_by) == (EndReason.DROPPED, client_id)
    finally:
        await nurse.close()


async def test_tablet_back_within_grace_keeps_the_call(server: RunningServer) -> None:
    nurse, tablet, call_id, client_id = await _ring(server)
    token = await server.enrol_tablet(next(c for c in server.clients if c.id == client_id))
    try:
        await tablet.send({"type": "call.answer", "call_id": call_id})
        await nurse.expect("call.accepted")
        await tablet.close()
        tablet = await RawSocket.open(server.ws_url, token=token)
        assert (await tablet.expect("call.accepted"))["call_id"] == call_id
        await asyncio.sleep(2.5)
        assert (await _record(server, call_id)).end_at is None
        await tablet.send({"type": "call.end", "call_id": call_id})
        assert (await nurse.expect("call.ended"))["reason"] == "completed"
    finally:
        await nurse.close()
        await tablet.close()


async def test_busy_when_a_second_nurse_calls(server: RunningServer) -> None:
    """Two nurses calling one client: the second gets 'busy' and a busy record."""
    nurse, tablet, call_id, client_id = await _ring(server)
    second = await staff_socket(server, "nurse2", NURSE_PASSWORD)
    try:
        await second.send({"type": "call.start", "client_id": client_id})
        ended = await second.expect("call.ended")
        assert ended["reason"] == "busy"
        busy = await _record(server, ended["call_id"])
        assert busy.end_reason is EndReason.BUSY
        assert busy.started_by == server.nurses[1].id
        assert (await _record(server, call_id)).end_at is None, "the first call goes on"
    finally:
        await nurse.close()
        await tablet.close()
        await second.close()


async def test_calling_an_offline_client(server: RunningServer) -> None:
    client = await server.add_client("Toivo")
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        await nurse.send({"type": "call.start", "client_id": client.id})
        ended = await nurse.expect("call.ended")
        assert ended["reason"] == "offline"
        assert (await _record(server, ended["call_id"])).end_reason is EndReason.OFFLINE
    finally:
        await nurse.close()


async def test_open_records_are_marked_interrupted_at_start_up(server: RunningServer) -> None:
    """A record a crash left open is closed as interrupted when the store starts again."""
    nurse, tablet, call_id, _ = await _ring(server)
    try:
        # A second process starting on the same database is what a restart after a crash is.
        restarted = await build_services(server.services.config)
        try:
            record = await restarted.store.session(call_id)
            assert record is not None
            assert record.end_reason is EndReason.INTERRUPTED
            assert record.end_at is not None
        finally:
            await close_services(restarted)
    finally:
        await nurse.close()
        await tablet.close()
