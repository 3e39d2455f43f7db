"""Rooms on their schedule (a controlled clock): the start notice on member tablets, joining
by a touch or by the client's setting, closing after the end time, and the attendance rows;
plus who may send what."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from care_sessions.identity import ClientSettings, Language, Role
from care_sessions.meal_rooms import MealRoom, RoomKind, SessionEndReason, attendance
from hoiva.app import SERVICES, build_app, build_services, close_services
from hoiva.demo import seed_demo
from hoiva.demo_rooms import EXERCISE_NAME, LUNCH_NAME
from tablet_client.headless import HeadlessTablet
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config
from tests.fake_clock import FakeClock
from tests.integration.meal_harness import (
    HOST_PASSWORD,
    lunch_schedule,
    rooms_of,
    synthetic,
    wait_until,
)
from tests.integration.wire import RawSocket, staff_socket

# Monday 2026-11-30 11:00 in Helsinki (UTC+2); lunch is 11:30-12:15 local.
MONDAY_11 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
async def clocked(tmp_path: Path) -> AsyncIterator[tuple[RunningServer, FakeClock]]:
    clock = FakeClock(MONDAY_11)
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
        yield server, clock
    finally:
        await runner.cleanup()


async def _room(server: RunningServer, host_id: str, member_ids: list[str]) -> MealRoom:
    room = MealRoom(
        id=str(uuid.uuid4()),
        name="Lunch with the Kallio group",
        kind=RoomKind.MEAL,
        host_id=host_id,
        member_ids=tuple(member_ids),
        schedule=lunch_schedule(),
    )
    await rooms_of(server).rooms.add_room(room)
    upkeep = server.services.signaling.room_upkeep
    assert upkeep is not None
    upkeep.rooms_changed()
    return room


async def test_start_notice_auto_join_latecomer_close_and_attendance(
    clocked: tuple[RunningServer, FakeClock],
) -> None:
    """At 11:30 member tablets are told lunch is starting; the one whose settings allow it
    joins by itself, the other with a touch; after 12:15 the emptied room closes; attendance
    lists the member who never came."""
    server, clock = clocked
    host = await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
    aino = await server.add_client("Aino", auto_answer=True, after_s=0)
    eino = await server.add_client("Eino")
    helmi = await server.add_client("Helmi")
    room = await _room(server, host.id, [aino.id, eino.id, helmi.id])
    upkeep = server.services.signaling.room_upkeep
    assert upkeep is not None
    tablets = [
        HeadlessTablet(server.url, await server.enrol_tablet(c), video_factory=synthetic(i + 1))
        for i, c in enumerate((aino, eino))
    ]
    for tablet in tablets:
        await tablet.start()
    aino_t, eino_t = tablets
    rooms = rooms_of(server)
    try:
        await upkeep.tick()
        assert rooms.live(room.id) is None

        clock.advance(timedelta(minutes=30))
        await upkeep.tick()
        live = rooms.live(room.id)
        assert live is not None and live.record.opened_by is None
        await wait_until(lambda: aino.id in live.seats, 10, "Aino joins by herself")
        starting = eino_t.meal.log.starting[room.id]
        assert starting.auto_join_after_s is None and starting.name == room.name
        assert aino_t.meal.log.starting[room.id].auto_join_after_s == 0
        assert eino.id not in live.seats

        await eino_t.meal.join(room.id)
        await wait_until(lambda: eino.id in live.seats, 10, "Eino joins with a touch")
        assert aino_t.meal.peer is not None and eino_t.meal.peer is not None
        await aino_t.meal.peer.wait_for_video_frames(5, 15)
        await eino_t.meal.peer.wait_for_video_frames(5, 15)
        presence = server.services.signaling.presence_of(aino.id)
        assert presence.status.value == "in_call"

        await eino_t.meal.leave()
        await aino_t.meal.leave()
        await wait_until(lambda: not live.seats, 5, "both left")
        await upkeep.tick()
        assert rooms.live(room.id) is live, "an emptied room stays open until its end time"
        # Leaving by choice: the invitation comes back without the automatic join.
        await aino_t.meal.sync()
        await wait_until(
            lambda: aino_t.meal.log.starting[room.id].auto_join_after_s is None, 5, "no auto"
        )

        clock.advance(timedelta(minutes=46))
        await upkeep.tick()
        assert rooms.live(room.id) is None
        await wait_until(lambda: (room.id, "empty") in eino_t.meal.log.ended, 5, "room.ended")

        await rooms.flush()
        [session] = await rooms.rooms.room_sessions(room.id)
        assert session.end_reason is SessionEndReason.EMPTY
        rows = {
            row.client_id: row
            for row in attendance(session, room.member_ids, await rooms.rooms.visits([session.id]))
        }
        assert rows[aino.id].attended and rows[eino.id].attended
        assert not rows[helmi.id].attended and rows[helmi.id].visits == 0

        # The host ended nothing; the same meeting is not opened again the same day.
        await upkeep.tick()
        assert rooms.live(room.id) is None
    finally:
        for tablet in tablets:
            await tablet.stop()


async def test_who_may_send_what(clocked: tuple[RunningServer, FakeClock]) -> None:
    """Tablets join only their own open rooms and run nothing; nurses run no rooms; a host
    runs only their own; malformed room messages get bad_message."""
    server, _ = clocked
    hannu = await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
    await server.add_staff("hilla", Role.HOST, HOST_PASSWORD)
    aino = await server.add_client("Aino")
    outsider = await server.add_client("Oona")
    await server.services.store.update_client_settings(
        outsider.id, ClientSettings(language=Language.FI)
    )
    room = await _room(server, hannu.id, [aino.id])
    aino_sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    oona_sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(outsider))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    other_host = await staff_socket(server, "hilla", HOST_PASSWORD)
    host = await staff_socket(server, "hannu", HOST_PASSWORD)
    try:

        async def refused(sock: RawSocket, message: dict[str, object]) -> str:
            await sock.send({**message, "ref": "x"})
            error = await sock.expect("error")
            assert error["ref"] == "x"
            return str(error["code"])

        assert await refused(aino_sock, {"type": "room.join", "room_id": room.id}) == (
            "invalid_state"
        )
        assert await refused(aino_sock, {"type": "room.open", "room_id": room.id}) == "forbidden"
        assert await refused(nurse, {"type": "room.open", "room_id": room.id}) == "forbidden"
        assert await refused(other_host, {"type": "room.open", "room_id": room.id}) == "not_found"

        await host.send({"type": "room.open", "room_id": room.id})
        state = await host.expect("room.state")
        assert state["session_id"] and state["participants"] == []
        assert (await aino_sock.expect("room.starting"))["room_id"] == room.id
        assert await refused(oona_sock, {"type": "room.join", "room_id": room.id}) == "not_found"
        assert await refused(
            oona_sock, {"type": "media.offer", "call_id": state["session_id"], "sdp": "v=0\r\n" * 4}
        ) in ("not_found", "invalid_sdp")
        bad = [
            {"type": "room.mute", "room_id": room.id, "subject_id": aino.id, "muted": "yes"},
            {"type": "room.join", "room_id": "a b"},
            {"type": "room.spotlight", "room_id": room.id},
            {"type": "room.lock", "room_id": room.id, "locked": True, "extra": 1},
        ]
        for message in bad:
            assert await refused(host, message) == "bad_message"
        assert await refused(
            host, {"type": "room.mute", "room_id": room.id, "subject_id": aino.id, "muted": True}
        ) == ("not_found")
        assert await refused(other_host, {"type": "room.end", "room_id": room.id}) == "not_found"
        await host.send({"type": "room.end", "room_id": room.id})
        assert (await aino_sock.expect("room.ended"))["reason"] == "ended_by_host"
    finally:
        for sock in (aino_sock, oona_sock, nurse, other_host, host):
            await sock.close()


async def test_demo_seeds_hannus_rooms_once(tmp_path: Path) -> None:
    """`hoiva demo` gives the demo host a weekday lunch and an exercise class, once."""
    services = await build_services(make_config(tmp_path))
    try:
        await seed_demo(services, tmp_path / "tokens.json")
        await seed_demo(services, tmp_path / "tokens.json")
        hannu = await services.store.staff_by_username("hannu")
        assert hannu is not None and services.signaling.rooms is not None
        rooms = {r.name: r for r in await services.signaling.rooms.rooms.list_rooms(hannu.id)}
        assert set(rooms) == {LUNCH_NAME, EXERCISE_NAME}
        assert len(rooms[LUNCH_NAME].member_ids) == 5
        assert rooms[EXERCISE_NAME].kind is RoomKind.EXERCISE
    finally:
        await close_services(services)
