"""The host's controls in a meal of six headless tablets: mute, mute all, spotlight, remove,
side call, lock and end, each checked where it matters (what the others decode, what the
tablets are told, what the attendance says)."""

from __future__ import annotations

import asyncio

from care_sessions.meal_rooms import LeaveReason, SessionEndReason
from tablet_client.meal_client import RoomSeat
from tests.conftest import RunningServer
from tests.integration.meal_harness import (
    HEIGHT,
    HOST_SOURCE,
    WIDTH,
    Diner,
    MealTable,
    audio_from,
    frames_by_source,
    rooms_of,
    wait_until,
)
from tests.integration.wire import RawSocket

HOMES = 6


def _audio_totals(table: MealTable, publisher_id: str) -> dict[int, int]:
    """Audio frames each other participant has decoded from `publisher_id` so far."""
    seats: list[tuple[int, RoomSeat]] = [(HOST_SOURCE, table.host.meal)]
    seats += [(d.source_id, d.seat) for d in table.diners if d.client.id != publisher_id]
    totals = {}
    for source, seat in seats:
        assert seat.peer is not None
        totals[source] = audio_from(seat, seat.peer, publisher_id)
    return totals


def _state_says(seat: RoomSeat, check: str, subject_id: str) -> bool:
    state = seat.log.state
    if state is None:
        return False
    entry = next((p for p in state.participants if p.subject_id == subject_id), None)
    return bool(entry is not None and getattr(entry, check))


async def test_mute_spotlight_and_mute_all(server: RunningServer) -> None:
    """Host mute stops one home's audio reaching every other participant while the others'
    audio flows, and every tablet (the muted one too) shows it muted; spotlight shows one home
    large everywhere and lifts its stream to full size; mute all mutes every home."""
    table = await MealTable.lay(server, HOMES)
    try:
        await table.seat_everyone()
        aino, eino = table.diners[0], table.diners[1]
        await wait_until(
            lambda: all(v > 0 for v in _audio_totals(table, aino.client.id).values()), 15, "audio"
        )

        await table.host.mute(aino.client.id)
        await wait_until(
            lambda: all(_state_says(d.seat, "muted", aino.client.id) for d in table.diners),
            5,
            "every tablet shows Aino muted",
        )
        await asyncio.sleep(0.5)  # what was in flight has been decoded
        muted_at = _audio_totals(table, aino.client.id)
        eino_at = _audio_totals(table, eino.client.id)
        await asyncio.sleep(1.5)
        assert _audio_totals(table, aino.client.id) == muted_at, "muted audio still arrives"
        eino_now = _audio_totals(table, eino.client.id)
        assert all(eino_now[s] > eino_at[s] + 5 for s in eino_at), "others' audio stopped too"
        me = aino.seat.log.me(aino.client.id)
        assert me is not None and me.muted

        await table.host.mute(aino.client.id, False)
        await wait_until(
            lambda: all(
                now > muted_at[s] + 5 for s, now in _audio_totals(table, aino.client.id).items()
            ),
            5,
            "Aino heard again",
        )

        await table.host.spotlight(eino.client.id)
        await wait_until(
            lambda: all(
                d.seat.log.state is not None and d.seat.log.state.large_id == eino.client.id
                for d in table.diners
            ),
            5,
            "everyone shows Eino large",
        )
        await wait_until(
            lambda: eino.seat.log.hints[-1].scale_down == 1.0, 5, "Eino asked for full size"
        )
        watcher = table.diners[3]
        await wait_until(
            lambda: _size_of(watcher, eino.source_id) == (WIDTH, HEIGHT), 10, "Eino full size"
        )
        assert _size_of(watcher, aino.source_id) == (WIDTH // 2, HEIGHT // 2)

        await table.host.spotlight(None)
        await wait_until(lambda: eino.seat.log.hints[-1].scale_down == 2.0, 5, "Eino back")

        await table.host.mute_all()
        await wait_until(
            lambda: all(_state_says(table.host.meal, "muted", d.client.id) for d in table.diners),
            5,
            "every home muted",
        )
        host_entry = table.host.meal.log.me(table.room.host_id)
        assert host_entry is not None and not host_entry.muted
    finally:
        await table.close()


async def test_remove_side_call_lock_end_and_attendance(server: RunningServer) -> None:
    """Remove takes a home out for good; a side call takes one home and the host apart and
    back; a locked room keeps newcomers out; ending closes every visit for the reports."""
    table = await MealTable.lay(server, HOMES, members=HOMES + 1, audio=False)
    rooms = rooms_of(server)
    try:
        await table.seat_everyone()
        helmi, toivo = table.diners[2], table.diners[3]
        others = [d for d in table.diners if d not in (helmi, toivo)]

        await table.host.remove(helmi.client.id)
        await wait_until(lambda: (table.room.id, "removed") in helmi.seat.log.left, 5, "removed")
        assert helmi.seat.peer is None
        await wait_until(
            lambda: all(helmi.client.id not in _publishers(d.seat) for d in others),
            5,
            "Helmi gone from everyone's media map",
        )
        gone_at = {
            d.source_id: len(frames_by_source(d.peer).get(helmi.source_id, [])) for d in others
        }
        await asyncio.sleep(1.0)
        assert all(
            len(frames_by_source(d.peer).get(helmi.source_id, [])) <= gone_at[d.source_id] + 1
            for d in others
        )
        # Helmi's tablet (restarted) is not even invited back, and cannot push its way in.
        await helmi.tablet.stop()
        raw = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(helmi.client))
        await raw.send({"type": "room.sync"})
        await raw.send({"type": "room.join", "room_id": table.room.id, "ref": "back"})
        refused = await raw.expect("error")
        assert (refused["code"], refused["ref"]) == ("forbidden", "back")
        assert not any(m["type"] == "room.starting" for m in raw.seen)
        await raw.close()

        await table.host.side_call(toivo.client.id)
        await wait_until(
            lambda: all(_state_says(d.seat, "away", toivo.client.id) for d in others),
            5,
            "Toivo shown away",
        )
        await asyncio.sleep(0.7)
        toivo_sees = {s: len(c) for s, c in frames_by_source(toivo.peer).items()}
        others_see_toivo = [len(frames_by_source(d.peer).get(toivo.source_id, [])) for d in others]
        await asyncio.sleep(1.5)
        now_sees = {s: len(c) for s, c in frames_by_source(toivo.peer).items()}
        # Privately: Toivo sees only the host, and nobody at the table sees Toivo.
        assert now_sees[HOST_SOURCE] > toivo_sees[HOST_SOURCE] + 10
        assert all(now_sees[s] <= toivo_sees[s] + 1 for s in toivo_sees if s != HOST_SOURCE)
        assert [len(frames_by_source(d.peer).get(toivo.source_id, [])) for d in others] <= [
            n + 1 for n in others_see_toivo
        ]
        await table.host.side_call(None)
        await wait_until(
            lambda: all(
                len(frames_by_source(d.peer).get(toivo.source_id, [])) > n + 5
                for d, n in zip(others, others_see_toivo, strict=True)
            ),
            10,
            "Toivo back at the table",
        )

        await table.host.lock()
        newcomer = server.clients[HOMES]  # a member who has not come yet
        raw = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(newcomer))
        await raw.send({"type": "room.sync"})
        assert (await raw.expect("room.starting"))["room_id"] == table.room.id
        await raw.send({"type": "room.join", "room_id": table.room.id})
        assert (await raw.expect("error"))["code"] == "invalid_state"

        await table.host.end_room()
        await wait_until(
            lambda: all((table.room.id, "ended_by_host") in d.seat.log.ended for d in others),
            5,
            "everyone told the meal ended",
        )
        assert all(d.seat.peer is None for d in others)
        # The member who never got in loses the Join button too.
        assert (await raw.expect("room.ended"))["reason"] == "ended_by_host"
        await raw.close()
        await rooms.flush()
        [session] = await rooms.rooms.room_sessions(table.room.id)
        assert session.end_reason is SessionEndReason.ENDED_BY_HOST
        visits = await rooms.rooms.visits([session.id])
        assert all(v.left_at is not None for v in visits)
        by_subject = {v.subject_id: v for v in visits}
        assert by_subject[helmi.client.id].left_reason is LeaveReason.REMOVED
        assert by_subject[toivo.client.id].left_reason is LeaveReason.ENDED
        assert by_subject[table.room.host_id].role == "host"
    finally:
        await table.close()


def _size_of(diner: Diner, source_id: int) -> tuple[int, int] | None:
    peer = diner.peer
    for mid, marks in peer.stats.marks.items():
        if marks and marks[-1][0] == source_id:
            return peer.stats.frame_sizes.get(mid)
    return None


def _publishers(seat: RoomSeat) -> set[str]:
    return {t.publisher_id for t in seat.log.tracks.values()}
