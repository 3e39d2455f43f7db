"""Check-ins end to end: a real server on a controlled clock, headless tablets, a nurse's socket.

A tablet that confirms its reminder closes the check-in; a tablet that ignores it is rung
again, the check-in escalates into the nurses' queue over the signaling socket, the nurse
calls and records the outcome, and everything is in the database afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from care_services.checkins import CheckinService
from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, Completer, Outcome, PlanItem
from care_sessions.checkins import CheckinStatus
from care_sessions.followup import EscalationStage, Resolution, escalation_id
from care_sessions.identity import Client, Role
from care_sessions.schedule import at_local
from hoiva.app import SERVICES, build_app
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config
from tests.fake_clock import FakeClock
from tests.integration.wire import RawSocket, staff_socket

DAY = date(2026, 11, 30)  # Helsinki is at UTC+2
START = at_local(DAY, time(16, 0))


@dataclass
class CareServer:
    server: RunningServer
    clock: FakeClock

    @property
    def service(self) -> CheckinService:
        service = self.server.services.signaling.checkins
        assert service is not None
        return service

    async def at(self, hh: int, mm: int) -> None:
        """Move the clock to a Helsinki time today and let the scheduler look at it."""
        self.clock.set(at_local(DAY, time(hh, mm)))
        await self.service.tick()

    async def medicine_at_18(self, client: Client) -> str:
        item = PlanItem(
            id=str(uuid.uuid4()),
            client_id=client.id,
            kind=CheckinKind.MEDICATION,
            label="evening medicine",
            weekdays=ALL_WEEKDAYS,
            times=(time(18, 0),),
            window_min=30,
            remind=True,
            completed_by=Completer.CLIENT,
            medication="Metformin",
            dose="500 mg",
            created_by="test",
        )
        await self.service.store.add_plan_item(item)
        await self.service.plan_changed(client.id)
        return f"{item.id}:{DAY.isoformat()}:1800"


@pytest.fixture
async def care(tmp_path: Path) -> AsyncIterator[CareServer]:
    clock = FakeClock(START)
    config = make_config(tmp_path)
    app = await build_app(config, clock=clock)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, config.server.host, config.server.port).start()
    server = RunningServer(
        url=f"http://{config.server.host}:{config.server.port}",
        services=app[SERVICES],
        runner=runner,
    )
    server.admin = await server.add_staff("admin", Role.ADMIN, "admin-test-password")
    server.nurses = [await server.add_staff("nurse1", Role.NURSE, NURSE_PASSWORD)]
    try:
        yield CareServer(server, clock)
    finally:
        await runner.cleanup()


async def _until(
    tablet: HeadlessTablet, condition: Callable[[], bool], timeout: float = 5.0
) -> None:
    """Wait until what the tablet has seen makes the condition true."""
    async with asyncio.timeout(timeout):
        while True:
            tablet.reminder_changed.clear()
            if condition():
                return
            await tablet.reminder_changed.wait()


async def _update(nurse: RawSocket, checkin_id: str, status: str) -> dict[str, object]:
    """The nurse's day-list update that shows the check-in in the given status."""
    while True:
        update = await nurse.expect("checkin.update")
        entry = update["checkin"]
        if entry["checkin_id"] == checkin_id and entry["status"] == status:
            return dict(entry)


async def test_confirmed_and_ignored_reminders(care: CareServer) -> None:
    server = care.server
    aino = await server.add_client("Aino")
    eino = await server.add_client("Eino", auto_answer=True, after_s=0)
    confirming = HeadlessTablet(server.url, await server.enrol_tablet(aino), reminders="confirm")
    ignoring = HeadlessTablet(
        server.url, await server.enrol_tablet(eino), reminders="ignore", answer_after_s=0.3
    )
    await confirming.start()
    await ignoring.start()
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    store = care.service.store
    try:
        aino_id = await care.medicine_at_18(aino)
        eino_id = await care.medicine_at_18(eino)
        await _until(confirming, lambda: bool(confirming.log.reminders))
        await _until(ignoring, lambda: bool(ignoring.log.reminders))
        assert confirming.log.reminders[-1] == ((), False), "nothing is due at 16:00"

        # 17:30: both windows open; each tablet shows its reminder, Aino presses the button.
        await care.at(17, 30)
        await _until(confirming, lambda: confirming.log.recorded.get(aino_id) == "done")
        assert (ignoring.log.reminders[-1]) == ((eino_id,), False)
        done = await store.checkin(aino_id)
        assert done is not None and done.status is CheckinStatus.DONE
        assert (done.outcome, done.done_by) == (Outcome.TAKEN, aino.id)
        outcome = await store.outcome(aino_id)
        assert outcome is not None and outcome.recorded_role == "tablet"
        # The nurses' day list follows: Eino's is due, Aino's done (with what, not how much).
        assert (await _update(nurse, eino_id, "due"))["client_name"] == "Eino T."
        assert (await _update(nurse, aino_id, "done"))["outcome"] == "taken"

        # 18:30: Eino's window passed unconfirmed: missed, and the tablet rings again.
        await care.at(18, 30)
        await _until(ignoring, lambda: ignoring.log.rings == 1)
        await care.at(18, 40)
        await _until(ignoring, lambda: ignoring.log.rings == 2)
        missed = await store.checkin(eino_id)
        assert missed is not None and (missed.status, missed.attempts) == (CheckinStatus.MISSED, 2)

        # 18:50: no answer to two rings: a task in the queue of the nurse who is signed in.
        await care.at(18, 50)
        queue = await nurse.expect("escalation.queue")
        [task] = queue["escalations"]
        assert task["escalation_id"] == escalation_id(eino_id)
        assert task["client_name"] == "Eino T."
        assert task["message"] == (
            "Eino T. has not confirmed the 18:00 evening medicine; "
            "tablet online, rang without an answer"
        )
        assert task["stage"] == "nurse"

        # The nurse calls; the tablet answers; the nurse records the outcome beside the video.
        await nurse.send({"type": "call.start", "client_id": eino.id})
        ringing = await nurse.expect("call.ringing")
        await nurse.expect("call.accepted", timeout=10)
        await nurse.send(
            {
                "type": "checkin.record",
                "checkin_id": eino_id,
                "outcome": "taken",
                "note": "had taken it at 18:20, forgot the button",
                "ref": "rec-1",
            }
        )
        recorded = await nurse.expect("checkin.recorded")
        assert recorded == {
            "type": "checkin.recorded",
            "ref": "rec-1",
            "checkin_id": eino_id,
            "status": "done",
            "outcome": "taken",
        }
        empty = await nurse.expect("escalation.queue")
        assert empty.get("escalations", []) == []
        await _until(ignoring, lambda: ignoring.log.reminders[-1] == ((), False))
        # A repeated "taken" (the nurse's second click) changes nothing.
        await nurse.send({"type": "checkin.record", "checkin_id": eino_id, "outcome": "taken"})
        assert (await nurse.expect("checkin.recorded"))["duplicate"] is True
        await nurse.send({"type": "call.end", "call_id": ringing["call_id"]})
        assert (await nurse.expect("call.ended"))["reason"] == "completed"

        # Later ticks find nothing to do: no home visit for a resolved check-in.
        await care.at(20, 0)
        assert ignoring.log.rings == 2

        # Everything is persisted, with who and when.
        final = await store.checkin(eino_id)
        assert final is not None
        assert (final.status, final.outcome, final.done_by) == (
            CheckinStatus.DONE,
            Outcome.TAKEN,
            server.nurses[0].id,
        )
        note = await store.outcome(eino_id)
        assert note is not None and note.note == "had taken it at 18:20, forgot the button"
        assert note.recorded_role == "nurse"
        resolved = await store.escalation(escalation_id(eino_id))
        assert resolved is not None
        assert (resolved.resolution, resolved.resolved_by) == (
            Resolution.OUTCOME,
            server.nurses[0].id,
        )
        assert resolved.created_at == at_local(DAY, time(18, 50))
        events = await store.events(eino_id)
        assert [(e.to_status.value, e.actor.role, e.at) for e in events] == [
            ("due", "system", at_local(DAY, time(17, 30))),
            ("missed", "system", at_local(DAY, time(18, 30))),
            ("missed", "system", at_local(DAY, time(18, 40))),
            ("escalated", "system", at_local(DAY, time(18, 50))),
            ("done", "nurse", at_local(DAY, time(18, 50))),
        ]
        call = await server.services.store.session(ringing["call_id"])
        assert call is not None and call.answer_at is not None
    finally:
        await nurse.close()
        await confirming.stop()
        await ignoring.stop()


async def test_offline_tablet_escalates_to_a_home_visit(care: CareServer) -> None:
    """No tablet online: the task says so, and an hour later home care is asked to go."""
    server = care.server
    helmi = await server.add_client("Helmi")
    token = await server.enrol_tablet(helmi)
    tablet = await RawSocket.open(server.ws_url, token=token)
    await tablet.close()  # seen once, at 16:00, then gone
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        checkin_id = await care.medicine_at_18(helmi)
        await care.at(17, 30)
        await care.at(18, 30)
        await care.at(18, 40)
        await care.at(18, 50)
        [task] = (await nurse.expect("escalation.queue"))["escalations"]
        assert task["message"].endswith("tablet offline since 16:00")
        await care.at(19, 50)
        [task] = (await nurse.expect("escalation.queue"))["escalations"]
        assert task["stage"] == EscalationStage.HOME_VISIT.value
        assert task["message"] == (
            "Home visit needed: Helmi T.'s 18:00 evening medicine is still unresolved"
        )
        # The home-care nurse found her well but out of pills: closed with a note.
        await nurse.send(
            {"type": "escalation.close", "escalation_id": task["escalation_id"], "note": "no pills"}
        )
        assert (await nurse.expect("escalation.queue")).get("escalations", []) == []
        closed = await care.service.store.checkin(checkin_id)
        assert closed is not None and closed.status is CheckinStatus.CLOSED
        assert (await care.service.store.events(checkin_id))[-1].actor.subject_id == (
            server.nurses[0].id
        )
    finally:
        await nurse.close()


async def test_reminders_wait_for_a_tablet_that_comes_back(care: CareServer) -> None:
    """A tablet that connects after its reminder fell due asks for it and shows it."""
    server = care.server
    toivo = await server.add_client("Toivo")
    checkin_id = await care.medicine_at_18(toivo)
    await care.at(17, 45)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(toivo), reminders="confirm")
    await tablet.start()
    try:
        await _until(tablet, lambda: tablet.log.recorded.get(checkin_id) == "done")
        assert tablet.log.reminders[0] == ((checkin_id,), False)
    finally:
        await tablet.stop()
    assert timedelta(0) < care.clock.now() - START
