"""Offers the media server cannot answer get `invalid_sdp`: never `internal`, never silence.

Issue 12: an offer with its m=video (or m=audio) section deleted reached aiortc's
`createAnswer`, failed there and again in `pc.close()`, and came back as `internal` with two
tracebacks in the log. Here real offers (aiortc's, made in the test, and a recorded Chromium
156 offer) are broken on purpose and sent through a real server over a real WebSocket, in
`echo.start` and in a call's `media.offer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from media.client_peer import ClientPeer
from media.offer_rules import check_offer
from media.peer import ForwardingPeerConnection
from media.synthetic import SyntheticVideoTrack
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config, start_server
from tests.integration.sdp_mutations import (
    CHROMIUM_OFFER,
    mutated_offers,
    only_section,
    without_section,
)
from tests.integration.wire import RawSocket, staff_socket

PROBE_TOKEN = "offer-test-probe-token-0123"
REPLY_TIMEOUT_S = 20.0


class _LogRecords(logging.Handler):
    """Every warning or worse that the server logs while a message is handled."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # Hoiva's own lines (aioice's ICE chatter about earlier offers is not ours to count).
        if record.name.split(".")[0] in ("signaling", "media", "hoiva", "care_sessions"):
            self.records.append(record)


@dataclass
class World:
    loop: asyncio.AbstractEventLoop
    server: RunningServer
    tablet: RawSocket  # runs echo tests
    nurse: RawSocket  # in a ringing call, so it may send media.offer
    call_id: str
    aiortc_offer: str
    log: _LogRecords

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    async def offer(self, path: str, sdp: str, ref: str) -> dict[str, Any] | None:
        """Send the offer on `path`; the reply about it, or None if none came in time."""
        if path == "echo":
            sock = self.tablet
            await sock.send({"type": "echo.start", "sdp": sdp, "ref": ref})
        else:
            sock = self.nurse
            await sock.send(
                {"type": "media.offer", "call_id": self.call_id, "sdp": sdp, "ref": ref}
            )
        deadline = self.loop.time() + REPLY_TIMEOUT_S
        while (left := deadline - self.loop.time()) > 0:
            try:
                message = await sock.next(timeout=left)
            except TimeoutError:
                return None
            if message is None:
                raise AssertionError(f"the server closed the socket ({sock.close_code})")
            if message.get("ref") == ref:
                return message
        return None


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    loop = asyncio.new_event_loop()
    config = make_config(
        tmp_path_factory.mktemp("offers"),
        **{
            "probe.token": PROBE_TOKEN,
            "probe.max_echo_tests": 100,
            "calls.ring_timeout_s": 3600.0,
            "signaling.message_burst": 10_000,
            "signaling.messages_per_s": 1000.0,
        },
    )
    log = _LogRecords()
    logging.getLogger().addHandler(log)

    async def setup() -> World:
        server = await start_server(config)
        client = await server.add_client("Offer")
        tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
        nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
        await nurse.send({"type": "call.start", "client_id": client.id})
        call_id = str((await nurse.expect("call.ringing"))["call_id"])
        peer = ClientPeer(video=SyntheticVideoTrack(source_id=1))
        try:
            offer = await peer.create_offer()
        finally:
            await peer.close()
        return World(loop, server, tablet, nurse, call_id, offer, log)

    world = loop.run_until_complete(setup())
    try:
        yield world
    finally:

        async def teardown() -> None:
            await world.tablet.close()
            await world.nurse.close()
            await world.server.runner.cleanup()

        loop.run_until_complete(teardown())
        loop.close()
        logging.getLogger().removeHandler(log)


def _offers(world: World) -> dict[str, str]:
    return {"aiortc": world.aiortc_offer, "chromium": CHROMIUM_OFFER}


def test_the_real_offers_pass_the_rules(world: World) -> None:
    """Both unbroken offers are what the server answers; the mutations start from them."""
    for offer in _offers(world).values():
        check_offer(offer)


@pytest.mark.parametrize("path", ["echo", "media"])
def test_an_answer_carries_the_offers_ref(world: World, path: str) -> None:
    """echo.answer and media.answer echo the request's ref, as every reply does."""
    reply = world.run(world.offer(path, world.aiortc_offer, ref=f"answer-{path}"))
    assert reply is not None, "no reply with the offer's ref"
    assert reply["type"] == f"{path}.answer", reply


@pytest.mark.parametrize("source", ["aiortc", "chromium"])
@pytest.mark.parametrize("kind", ["audio", "video"])
@pytest.mark.parametrize("path", ["echo", "media"])
def test_an_offer_without_one_of_its_sections_is_invalid_sdp(
    world: World, source: str, kind: str, path: str
) -> None:
    """Issue 12: deleting an m-section gave `internal` and two tracebacks per message."""
    world.log.records.clear()
    sdp = without_section(_offers(world)[source], kind)
    reply = world.run(world.offer(path, sdp, ref=f"cut-{kind}"))
    assert reply is not None, "no reply"
    assert (reply["type"], reply.get("code"), reply.get("ref")) == (
        "error",
        "invalid_sdp",
        f"cut-{kind}",
    )
    # Its mid is still in the BUNDLE group: aiortc's answer would fail on that.
    assert "BUNDLE" in reply["message"], reply
    assert not world.log.records, [r.getMessage() for r in world.log.records]


@pytest.mark.parametrize("source", ["aiortc", "chromium"])
@pytest.mark.parametrize("kind", ["audio", "video"])
def test_an_offer_of_one_kind_alone_is_answered(world: World, source: str, kind: str) -> None:
    """A consistent offer of video (or audio) alone is answered: the kiosk's self-test echoes
    its camera without a microphone."""
    sdp = only_section(_offers(world)[source], kind)
    reply = world.run(world.offer("echo", sdp, ref=f"only-{kind}"))
    assert reply is not None, "no reply"
    assert reply["type"] == "echo.answer", reply
    world.run(world.tablet.send({"type": "echo.stop", "echo_id": reply["echo_id"]}))
    world.run(world.tablet.expect("echo.stopped"))


@pytest.mark.parametrize("path", ["echo", "media"])
def test_an_aiortc_failure_is_invalid_sdp_with_one_log_line_and_a_closed_connection(
    world: World, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever aiortc raises while answering, and again while closing, costs one log line."""
    closed: list[ForwardingPeerConnection] = []

    async def broken_answer(self: ForwardingPeerConnection) -> None:
        raise AttributeError("'NoneType' object has no attribute 'transport'")

    original_close = ForwardingPeerConnection.close

    async def close_then_trip(self: ForwardingPeerConnection) -> None:
        closed.append(self)
        await original_close(self)
        raise AttributeError("'NoneType' object has no attribute 'stop'")

    monkeypatch.setattr(ForwardingPeerConnection, "createAnswer", broken_answer)
    monkeypatch.setattr(ForwardingPeerConnection, "close", close_then_trip)
    world.log.records.clear()
    echoes_before = world.server.services.signaling.echo.running
    reply = world.run(world.offer(path, world.aiortc_offer, ref="tripped"))
    assert reply is not None, "no reply"
    assert (reply["type"], reply.get("code"), reply.get("ref")) == (
        "error",
        "invalid_sdp",
        "tripped",
    )
    assert len(world.log.records) == 1, [r.getMessage() for r in world.log.records]
    record = world.log.records[0]
    assert record.exc_info is None and record.levelno == logging.WARNING
    assert len(closed) == 1 and closed[0].connectionState == "closed"
    if path == "echo":
        assert world.server.services.signaling.echo.running <= echoes_before


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), path=st.sampled_from(["echo", "media"]))
@pytest.mark.timeout(600)
def test_broken_real_offers_get_a_defined_answer(
    world: World, data: st.DataObject, path: str
) -> None:
    """Deleted, duplicated and corrupted m-sections and attributes: an answer or invalid_sdp.

    Never `internal`, never silence, never a traceback in the log."""
    sdp = data.draw(mutated_offers(list(_offers(world).values())), label="sdp")
    world.log.records.clear()
    reply = world.run(world.offer(path, sdp, ref="fuzz"))
    assert reply is not None, "no reply"
    if reply["type"] == "error":
        # bad_message: a mutation can make the SDP too short, or (surrogates) not JSON text.
        assert reply["code"] in ("invalid_sdp", "bad_message"), reply
        assert reply.get("ref") == "fuzz", reply
    else:
        assert reply["type"] in ("echo.answer", "media.answer"), reply
        assert reply.get("ref") == "fuzz", reply
    tracebacks = [r for r in world.log.records if r.exc_info is not None]
    assert not tracebacks, tracebacks[0].getMessage()
    assert all(r.levelno < logging.ERROR for r in world.log.records), [
        r.getMessage() for r in world.log.records
    ]
    assert len(world.log.records) <= 1, [r.getMessage() for r in world.log.records]
