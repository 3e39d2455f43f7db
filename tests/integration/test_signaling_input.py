"""Hostile or broken signaling input gets an error reply or a clean close, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import NURSE_PASSWORD, RunningServer, make_config, serving
from tests.integration.wire import RawSocket, staff_socket

BAD_FRAMES = [
    ("not json at all", "bad_json"),
    ("[1, 2, 3]", "bad_json"),
    # A JSON object with a wrongly typed envelope field is a bad message, not bad JSON (#12).
    ('{"type": 42}', "bad_message"),
    ('{"type": ["ping"]}', "bad_message"),
    ('{"type": "ping", "ref": 5}', "bad_message"),
    ('{"type": "ping", "ref": {"deep": [1]}}', "bad_message"),
    ('{"no_type": true}', "bad_message"),
    ('{"type": "call.teleport", "client_id": "x"}', "unknown_type"),
    ('{"type": "call.start"}', "bad_message"),
    ('{"type": "call.start", "client_id": 12}', "bad_message"),
    ('{"type": "call.start", "client_id": "a b c"}', "bad_message"),
    ('{"type": "call.start", "client_id": "' + "x" * 500 + '"}', "bad_message"),
    ('{"type": "ping", "v": 99}', "unsupported_version"),
    ('{"type": "ping", "surprise": 1}', "bad_message"),
    ('{"type": "media.offer", "call_id": "c1", "sdp": 5}', "bad_message"),
    ("{" * 5000, "bad_json"),
    # A lone surrogate is no Unicode text (issue 12: an SDP with one got no reply at all).
    ('{"type": "ping", "ref": "\\udfff"}', "bad_json"),
    ('{"type": "echo.start", "sdp": "v=0\\r\\ns=\\udfff\\r\\nt=0 0\\r\\n"}', "bad_json"),
]


@pytest.mark.parametrize(("frame", "code"), BAD_FRAMES)
async def test_bad_frames_get_an_error_and_the_socket_stays(
    server: RunningServer, frame: str, code: str
) -> None:
    """Each malformed frame is answered with its error code; a ping afterwards still works."""
    client = await server.add_client("Eino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    try:
        await sock.ws.send_str(frame)
        error = await sock.expect("error")
        assert error["code"] == code
        await sock.send({"type": "ping", "ref": "after"})
        pong = await sock.expect("pong")
        assert pong["ref"] == "after"
    finally:
        await sock.close()


async def test_error_reply_echoes_the_ref(server: RunningServer) -> None:
    client = await server.add_client("Eino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    try:
        await sock.send({"type": "call.answer", "call_id": "nope", "ref": "r-17"})
        error = await sock.expect("error")
        assert (error["code"], error["ref"]) == ("not_found", "r-17")
    finally:
        await sock.close()


async def test_binary_frame_is_refused_politely(server: RunningServer) -> None:
    client = await server.add_client("Eino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    try:
        await sock.ws.send_bytes(b"\xff\xfe\x00binary")
        assert (await sock.expect("error"))["code"] == "bad_json"
    finally:
        await sock.close()


async def test_a_text_frame_that_is_not_utf8_gets_bad_json_and_the_socket_stays(
    server: RunningServer,
) -> None:
    """Raw surrogate bytes (and other invalid UTF-8) in a text frame: an answer, not a close."""
    client = await server.add_client("Eino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    try:
        for raw in (b'{"type":"ping","ref":"\xed\xbf\xbf"}', b'{"type":"pi\xffng"}'):
            # aiohttp's client refuses to send invalid text, so the frame is written directly.
            await sock.ws._writer.send_frame(raw, aiohttp.WSMsgType.TEXT)
            error = await sock.expect("error")
            assert error["code"] == "bad_json"
        await sock.send({"type": "ping", "ref": "after"})
        assert (await sock.expect("pong"))["ref"] == "after"
    finally:
        await sock.close()


async def test_help_take_of_an_unknown_request_is_not_found(server: RunningServer) -> None:
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        await nurse.send({"type": "help.take", "help_id": "no-such-help", "ref": "t"})
        error = await nurse.expect("error")
        assert (error["code"], error["ref"]) == ("not_found", "t")
    finally:
        await nurse.close()


async def test_the_internal_error_echoes_the_ref(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler bug costs one reply, which still says which request it is about."""

    async def bug(*args: object) -> None:
        raise RuntimeError("a bug in a handler")

    monkeypatch.setattr(server.services.signaling.help_desk, "cancel", bug)
    client = await server.add_client("Eino")
    sock = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    try:
        await sock.send({"type": "help.cancel", "ref": "oops"})
        error = await sock.expect("error")
        assert (error["code"], error["ref"]) == ("internal", "oops")
    finally:
        await sock.close()


@pytest.mark.parametrize("size", [1024 * 1024, 16 * 1024 * 1024])
async def test_oversize_frame_closes_with_1009_and_others_keep_going(
    server: RunningServer, size: int
) -> None:
    """Any frame over the limit closes that socket with 1009; another client is unaffected.

    Issue 12: a 16 MiB frame closed with 1006, because the server reset the connection while
    the client was still sending, and the reset took the close frame with it."""
    client = await server.add_client("Eino")
    token = await server.enrol_tablet(client)
    other_client = await server.add_client("Helmi")
    bystander = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(other_client))
    attacker = await RawSocket.open(server.ws_url, token=token)
    try:
        huge = json.dumps({"type": "ping", "ref": "x" * size})
        await attacker.ws.send_str(huge)
        assert await attacker.next() is None
        assert attacker.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
        await bystander.send({"type": "ping", "ref": "still-here"})
        assert (await bystander.expect("pong"))["ref"] == "still-here"
    finally:
        await attacker.close()
        await bystander.close()


async def test_messages_before_hello_are_refused(server: RunningServer) -> None:
    sock = await RawSocket.open(server.ws_url)
    try:
        await sock.send({"type": "call.start", "client_id": "abc"})
        assert (await sock.expect("error"))["code"] == "not_authenticated"
    finally:
        await sock.close()


async def test_silent_socket_is_closed_after_the_hello_timeout(tmp_path: Path) -> None:
    config = make_config(tmp_path, **{"signaling.hello_timeout_s": 1.0})
    async with serving(config) as server:
        sock = await RawSocket.open(server.ws_url)
        try:
            assert await sock.next(timeout=10) is None
            assert sock.close_code == 4008
        finally:
            await sock.close()


async def test_bad_token_closes_with_4001(server: RunningServer) -> None:
    sock = await RawSocket.open(server.ws_url)
    try:
        await sock.send({"type": "hello", "token": "forged-token"})
        assert (await sock.expect("error"))["code"] == "not_authenticated"
        assert await sock.next() is None
        assert sock.close_code == 4001
    finally:
        await sock.close()
