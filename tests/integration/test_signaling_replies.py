"""Every client message type, with every role: the documented answer, carrying the request's ref.

docs/protocol.md: "the reply or error about this message carries the same ref". The types are
read from the protocol union itself, so a new message type fails here until the table below
says what it answers. Samples name ids that do not exist (the answer is then `not_found`) or
ask about the sender itself; test_permissions.py checks who may send what, this checks what
they get.
"""

from __future__ import annotations

import typing
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from care_sessions.identity import Role
from protocol.messages import ClientMessage
from signaling.routes import MESSAGE_ROLES
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config, serving
from tests.integration.test_permissions import PROBE_TOKEN, _as_role, _sample
from tests.integration.wire import RawSocket, replies_about, staff_socket

# What an allowed sender gets for the sample: (reply type, error code), or None for a message
# that has no reply (the sender learns the outcome from later messages, or from nothing).
EXPECTED: dict[str, tuple[str, str | None] | None] = {
    "hello": ("error", "invalid_state"),
    "ping": ("pong", None),
    "call.start": ("error", "not_found"),
    "call.answer": ("error", "not_found"),
    "call.decline": ("error", "not_found"),
    "call.end": ("error", "not_found"),
    "media.offer": ("error", "not_found"),
    "media.answer": ("error", "not_found"),
    "call.record_start": ("error", "not_found"),
    "call.record_stop": ("error", "not_found"),
    "help.request": ("help.queued", None),
    "help.cancel": None,
    "help.take": ("error", "not_found"),
    "checkin.pending": ("checkin.reminders", None),
    "checkin.confirm": ("error", "not_found"),
    "checkin.record": ("error", "not_found"),
    "escalation.close": ("error", "not_found"),
    "attention.resolve": ("error", "not_found"),
    "room.sync": None,  # nothing is open: nothing to tell
    "room.open": ("error", "not_found"),
    "room.join": ("error", "not_found"),
    "room.leave": ("error", "not_found"),
    "room.mute": ("error", "not_found"),
    "room.mute_all": ("error", "not_found"),
    "room.spotlight": ("error", "not_found"),
    "room.remove": ("error", "not_found"),
    "room.lock": ("error", "not_found"),
    "room.side_call": ("error", "not_found"),
    "room.end": ("error", "not_found"),
    "echo.start": ("error", "invalid_sdp"),  # the sample SDP has no audio or video section
    "echo.stop": ("error", "not_found"),
    "tablet.heartbeat": None,
    "selftest.result": ("error", "not_found"),
    "fleet.watch": ("fleet.snapshot", None),
    "fleet.reload": ("error", "not_found"),
    "fleet.selftest": ("error", "not_found"),
}
ROLES = [Role.TABLET, Role.FAMILY, Role.PROBE, Role.NURSE, Role.HOST, Role.ADMIN]


def _protocol_types() -> dict[str, type]:
    """Every member of the ClientMessage union, by its wire tag."""
    return {t.__struct_config__.tag: t for t in typing.get_args(ClientMessage)}


def test_the_table_names_every_message_type() -> None:
    assert set(EXPECTED) == set(_protocol_types()), "say what each new message type answers"


@pytest.fixture
async def roomy_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with serving(
        make_config(tmp_path, **{"signaling.message_burst": 10_000, "probe.token": PROBE_TOKEN})
    ) as running:
        yield running


@pytest.mark.parametrize("role", ROLES)
async def test_every_message_type_gets_its_documented_answer_with_the_ref(
    roomy_server: RunningServer, role: Role
) -> None:
    server = roomy_server
    cookies, headers = await _as_role(server, role)
    token = headers.get("Authorization", "").removeprefix("Bearer ") or None
    sock = await RawSocket.open(server.ws_url, http=aiohttp.ClientSession(cookies=cookies))
    await sock.send({"type": "hello", **({"token": token} if token else {})})
    await sock.expect("welcome")
    await sock.send({"type": "ping", "ref": "settled"})
    while (await sock.expect("pong")).get("ref") != "settled":
        pass
    wrong = []
    try:
        for tag, message_type in sorted(_protocol_types().items()):
            replies = [
                (m["type"], m.get("code"))
                for m in await replies_about(sock, _sample(message_type), f"r-{tag}")
            ]
            allowed = role in MESSAGE_ROLES[tag]
            expected = EXPECTED[tag] if allowed else ("error", "forbidden")
            if replies != ([] if expected is None else [expected]):
                wrong.append(f"{role.value} {tag}: expected {expected}, got {replies}")
    finally:
        await sock.close()
    assert not wrong, "\n".join(wrong)


async def test_call_start_and_help_take_answer_call_ringing_with_the_ref(
    server: RunningServer,
) -> None:
    """The reply to call.start (and to help.take, which places a call) carries its ref."""
    present = await server.add_client("Aino")
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(present))
    absent = await server.add_client("Eino")
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    other = await staff_socket(server, "nurse2", NURSE_PASSWORD)
    try:
        await nurse.send({"type": "call.start", "client_id": absent.id, "ref": "c0"})
        ended = await nurse.expect("call.ended")
        assert (ended["reason"], ended.get("ref")) == ("offline", "c0")
        await nurse.send({"type": "call.start", "client_id": present.id, "ref": "c1"})
        ringing = await nurse.expect("call.ringing")
        assert ringing.get("ref") == "c1"
        await nurse.send({"type": "call.end", "call_id": ringing["call_id"]})
        await tablet.expect("call.ended")
        await tablet.send({"type": "help.request", "ref": "h1"})
        help_id = (await tablet.expect("help.queued"))["help_id"]
        await other.send({"type": "help.take", "help_id": help_id, "ref": "t1"})
        assert (await other.expect("call.ringing")).get("ref") == "t1"
    finally:
        for sock in (tablet, nurse, other):
            await sock.close()
