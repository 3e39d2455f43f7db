"""Tokens and codes, table-driven: each way a credential can be wrong is refused, and says so.

Pairing codes: wrong, tampered, expired, reused. Device tokens: tampered, another device's
after revocation, revoked while connected (the open socket closes within 5 s). Reach: a
tablet naming another client's call or a room it is not a member of gets not_found.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import aiohttp
import pytest

from care_sessions.auth import PAIRING_CODE_TTL
from care_sessions.identity import Role
from care_sessions.meal_rooms import MealRoom, RoomKind
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.integration.wire import RawSocket, staff_socket


def _tamper(secret: str) -> str:
    """The same secret with one character changed."""
    last = secret[-1]
    return secret[:-1] + ("A" if last != "A" else "B")


async def _pair(server: RunningServer, code: str) -> int:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/api/tablet/pair", json={"code": code}) as response,
    ):
        return response.status


@pytest.mark.parametrize("case", ["wrong", "tampered", "expired", "reused", "good"])
async def test_pairing_codes(server: RunningServer, case: str) -> None:
    client = await server.add_client("Aino")
    assert server.admin is not None
    issued = await server.services.auth.issue_pairing_code(client.id, server.admin.id)
    code = {
        "wrong": "ZZZZ-ZZZZ",
        "tampered": _tamper(issued.code),
        "expired": issued.code,
        "reused": issued.code,
        "good": issued.code,
    }[case]
    if case == "reused":
        assert await _pair(server, issued.code) == 200
    if case == "expired":
        clock = server.services.clock
        real_now = clock.now
        later = real_now() + PAIRING_CODE_TTL + timedelta(seconds=1)
        clock.now = lambda: later  # type: ignore[method-assign]
        try:
            assert await _pair(server, code) == 400
        finally:
            clock.now = real_now  # type: ignore[method-assign]
        return
    assert await _pair(server, code) == (200 if case == "good" else 400)


@pytest.mark.parametrize("case", ["tampered", "revoked", "empty"])
async def test_device_tokens_refused_at_hello(server: RunningServer, case: str) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    if case == "revoked":
        [device] = await server.services.store.devices_for_client(client.id)
        await server.services.store.revoke_device(device.id, server.services.clock.now())
    presented = {"tampered": _tamper(token), "revoked": token, "empty": ""}[case]
    sock = await RawSocket.open(server.ws_url)
    try:
        await sock.send({"type": "hello", "token": presented})
        error = await sock.expect("error")
        assert error["code"] in ("not_authenticated", "bad_message")
        if error["code"] == "not_authenticated":
            assert await sock.next() is None and sock.close_code == 4001
    finally:
        await sock.close()
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{server.url}/api/tablet/me", headers={"Authorization": f"Bearer {presented}"}
        ) as response,
    ):
        assert response.status == 401


async def test_revoked_while_connected_closes_within_five_seconds(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    try:
        [device] = await server.services.store.devices_for_client(client.id)
        started = time.monotonic()
        await server.services.store.revoke_device(device.id, server.services.clock.now())
        await server.services.signaling.disconnect_device(device.id)
        while await sock.next(timeout=5) is not None:
            pass
        assert sock.close_code == 4003
        assert time.monotonic() - started < 5
    finally:
        await sock.close()


async def test_a_tablet_reaches_neither_other_calls_nor_other_rooms(
    server: RunningServer,
) -> None:
    aino = await server.add_client("Aino")
    eino = await server.add_client("Eino")
    host = await server.add_staff("hannu", Role.HOST, NURSE_PASSWORD)
    rooms = server.services.signaling.rooms
    assert rooms is not None
    room = MealRoom(
        id=str(uuid.uuid4()),
        name="Lunch",
        kind=RoomKind.MEAL,
        host_id=host.id,
        member_ids=(eino.id,),
        schedule=None,
    )
    await rooms.rooms.add_room(room)
    aino_tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    eino_tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(eino))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        await nurse.send({"type": "call.start", "client_id": eino.id})
        call_id = (await nurse.expect("call.ringing"))["call_id"]
        await eino_tablet.expect("call.incoming")
        cases = [
            {"type": "call.answer", "call_id": call_id},
            {"type": "call.decline", "call_id": call_id},
            {"type": "call.end", "call_id": call_id},
            {"type": "room.join", "room_id": room.id},
            {"type": "room.join", "room_id": str(uuid.uuid4())},
        ]
        for message in cases:
            await aino_tablet.send(message)
            error = await aino_tablet.expect("error")
            assert error["code"] == "not_found", (message, error)
        await asyncio.sleep(0.1)
        assert not {"call.incoming", "room.state"} & {m["type"] for m in aino_tablet.seen}
    finally:
        for sock in (aino_tablet, eino_tablet, nurse):
            await sock.close()
