"""The check-in messages at the socket: who may send what, and clear errors for bad input."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta

from care_services.checkins import CheckinService
from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, PlanItem
from care_sessions.checkins import Checkin, CheckinStatus
from care_sessions.identity import Client
from care_sessions.schedule import HELSINKI, expand_day, local_day
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.integration.wire import RawSocket, staff_socket


def _service(server: RunningServer) -> CheckinService:
    service = server.services.signaling.checkins
    assert service is not None
    return service


async def _due(
    server: RunningServer, client: Client, kind: CheckinKind = CheckinKind.MEDICATION
) -> Checkin:
    """A check-in of the client that is due right now: scheduled this minute, local time, so
    that it is today's and inside the tablet's reminder horizon at any hour of the day."""
    now = datetime.now(UTC)
    local = now.astimezone(HELSINKI)
    item = PlanItem(
        id=str(uuid.uuid4()),
        client_id=client.id,
        kind=kind,
        label="morning medicine" if kind is CheckinKind.MEDICATION else "blood sugar",
        weekdays=ALL_WEEKDAYS,
        times=(time(local.hour, local.minute),),
        medication="Metformin" if kind is CheckinKind.MEDICATION else "",
    )
    checkin = replace(
        expand_day(item, local_day(now))[0],
        status=CheckinStatus.DUE,
        next_action_at=now + timedelta(hours=1),
    )
    await _service(server).store.add_checkins([checkin])
    return checkin


async def _error(sock: RawSocket, message: dict[str, object]) -> dict[str, object]:
    await sock.send({**message, "ref": "x"})
    reply = await sock.expect("error")
    assert reply["ref"] == "x"
    return reply


async def test_roles_are_checked_for_every_care_message(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        for message in (
            {"type": "checkin.record", "checkin_id": "c", "outcome": "taken"},
            {"type": "escalation.close", "escalation_id": "e", "note": "n"},
            {"type": "attention.resolve", "flag_id": "f", "action": "called"},
        ):
            assert (await _error(tablet, message))["code"] == "forbidden"
        for message in (
            {"type": "checkin.pending"},
            {"type": "checkin.confirm", "checkin_id": "c", "outcome": "taken"},
        ):
            assert (await _error(nurse, message))["code"] == "forbidden"
    finally:
        await tablet.close()
        await nurse.close()


async def test_a_tablet_sees_and_confirms_only_its_own_checkins(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    eino = await server.add_client("Eino")
    theirs = await _due(server, eino)
    mine = await _due(server, aino)
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    try:
        await tablet.send({"type": "checkin.pending"})
        listed = await tablet.expect("checkin.reminders")
        assert [r["checkin_id"] for r in listed["reminders"]] == [mine.id]
        assert listed["reminders"][0] == {
            "checkin_id": mine.id,
            "kind": "medication",
            "label": "morning medicine",
            "detail": "Metformin",
            "time": f"{mine.scheduled_at.astimezone(HELSINKI):%H:%M}",
            "status": "due",
            "attempts": 0,
            "confirm": "taken",
            "alert": True,
        }
        refused = await _error(
            tablet, {"type": "checkin.confirm", "checkin_id": theirs.id, "outcome": "taken"}
        )
        assert refused["code"] == "not_found"
        untouched = await _service(server).store.checkin(theirs.id)
        assert untouched is not None and untouched.status is CheckinStatus.DUE

        await tablet.send({"type": "checkin.confirm", "checkin_id": mine.id, "outcome": "taken"})
        assert (await tablet.expect("checkin.recorded"))["status"] == "done"
        assert (await tablet.expect("checkin.reminders")).get("reminders", []) == []
        await tablet.send({"type": "checkin.confirm", "checkin_id": mine.id, "outcome": "taken"})
        assert (await tablet.expect("checkin.recorded"))["duplicate"] is True
    finally:
        await tablet.close()


async def test_bad_values_get_clear_errors(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    glucose = await _due(server, aino, CheckinKind.GLUCOSE)
    medicine = await _due(server, aino)
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        too_high = await _error(
            tablet,
            {
                "type": "checkin.confirm",
                "checkin_id": glucose.id,
                "outcome": "measured",
                "glucose_mmol_l": 64.0,
            },
        )
        assert too_high["code"] == "bad_message" and "glucose_mmol_l" in str(too_high["message"])
        missing = await _error(
            tablet, {"type": "checkin.confirm", "checkin_id": glucose.id, "outcome": "measured"}
        )
        assert missing["code"] == "bad_message" and "mmol/L" in str(missing["message"])
        wrong_kind = await _error(
            nurse, {"type": "checkin.record", "checkin_id": medicine.id, "outcome": "measured"}
        )
        assert wrong_kind["code"] == "bad_message"
        assert "takes one of: taken, not_taken, refused" in str(wrong_kind["message"])
        unknown = await _error(
            nurse, {"type": "checkin.record", "checkin_id": medicine.id, "outcome": "maybe"}
        )
        assert unknown["code"] == "bad_message"
        long_note = await _error(
            nurse,
            {
                "type": "checkin.record",
                "checkin_id": medicine.id,
                "outcome": "taken",
                "note": "x" * 501,
            },
        )
        assert long_note["code"] == "bad_message"
        no_note = await _error(
            nurse, {"type": "escalation.close", "escalation_id": "esc:x", "note": ""}
        )
        assert no_note["code"] == "bad_message"
        dismiss = await _error(
            nurse, {"type": "attention.resolve", "flag_id": "nope", "action": "dismissed"}
        )
        assert dismiss["code"] == "not_found"
        nothing = await _error(
            nurse, {"type": "checkin.record", "checkin_id": "no-such", "outcome": "taken"}
        )
        assert nothing["code"] == "not_found"
        stored = await _service(server).store.checkin(medicine.id)
        assert stored is not None and stored.status is CheckinStatus.DUE
    finally:
        await tablet.close()
        await nurse.close()
