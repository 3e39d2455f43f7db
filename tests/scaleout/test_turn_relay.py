"""A call forced through TURN: Debian's coturn on loopback, credentials minted by Hoiva."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aioice.stun
import aioice.turn
import pytest

from media.client_peer import ClientPeer
from media.ice import IceServerConfig
from media.synthetic import SyntheticVideoTrack
from signaling.turn import turn_credential
from tests.conftest import NURSE_PASSWORD, RunningServer, free_port, make_config, serving
from tests.integration.wire import RawSocket, staff_socket

TURNSERVER = shutil.which("turnserver")
SECRET = "coturn-test-shared-secret"


class Coturn:
    """Our own turnserver process: 127.0.0.1 only, REST credentials, no CLI, no TLS."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self._workdir = workdir
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert TURNSERVER is not None
        self._workdir.mkdir(parents=True, exist_ok=True)
        relay_from = 50000 + (self.port % 1000) * 10
        self._process = subprocess.Popen(
            [
                TURNSERVER, "-n", "--no-cli", "--no-tls", "--no-dtls",
                "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1",
                f"--listening-port={self.port}",
                f"--min-port={relay_from}", f"--max-port={relay_from + 9}",
                "--use-auth-secret", f"--static-auth-secret={SECRET}", "--realm=hoiva.test",
                # The media server is on loopback too; coturn refuses loopback peers otherwise.
                "--allow-loopback-peers", "--fingerprint", "--no-software-attribute",
                f"--pidfile={self._workdir / 'turnserver.pid'}",
                f"--userdb={self._workdir / 'turndb'}",
                "--log-file=stdout", "--simple-log",
            ],
            stdout=(self._workdir / "turnserver.log").open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        time.sleep(0.5)
        if self._process.poll() is not None:
            raise RuntimeError(self.log())

    def log(self) -> str:
        return (self._workdir / "turnserver.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    if TURNSERVER is None:
        pytest.skip("needs coturn (apt-get install coturn)")
    server = Coturn(tmp_path / "coturn")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def turn_server(tmp_path: Path, coturn: Coturn) -> AsyncIterator[RunningServer]:
    """Hoiva handing out short-lived credentials for the local coturn to every socket."""
    config = make_config(
        tmp_path,
        **{
            "media.turn_urls": [f"turn:127.0.0.1:{coturn.port}?transport=udp"],
            "media.turn_shared_secret": SECRET,
            "media.turn_credential_ttl_s": 600,
        },
    )
    async with serving(config) as running:
        yield running


def _ice(welcome: dict[str, Any]) -> list[IceServerConfig]:
    return [
        IceServerConfig(tuple(s["urls"]), s.get("username"), s.get("credential"))
        for s in welcome.get("ice_servers", [])
    ]


def _candidate_types(sdp: str) -> set[str]:
    return {line.split(" typ ")[1].split()[0] for line in sdp.splitlines() if " typ " in line}


async def test_a_relay_only_call_flows_through_coturn(
    turn_server: RunningServer, coturn: Coturn
) -> None:
    """Both ends gather only relay candidates with the credentials from their welcome; the
    call connects through coturn and frames flow both ways."""
    client = await turn_server.add_client("Aino")
    nurse = await staff_socket(turn_server, "nurse1", NURSE_PASSWORD)
    tablet = await RawSocket.open(turn_server.ws_url, token=await turn_server.enrol_tablet(client))
    peers: list[ClientPeer] = []
    try:
        nurse_ice = _ice(next(m for m in nurse.seen if m["type"] == "welcome"))
        tablet_ice = _ice(next(m for m in tablet.seen if m["type"] == "welcome"))
        assert (
            nurse_ice
            and nurse_ice[0].username
            and nurse_ice[0].username.endswith(turn_server.nurses[0].id)
        )
        await nurse.send({"type": "call.start", "client_id": client.id})
        call_id = (await nurse.expect("call.ringing"))["call_id"]
        await tablet.expect("call.incoming")
        await tablet.send({"type": "call.answer", "call_id": call_id})

        for sock, ice, source in ((nurse, nurse_ice, 100), (tablet, tablet_ice, 7)):
            peer = ClientPeer(
                ice_servers=ice, video=SyntheticVideoTrack(source_id=source), relay_only=True
            )
            peers.append(peer)
            offer = await peer.create_offer()
            assert _candidate_types(offer) == {"relay"}, "media must go through coturn"
            await sock.send({"type": "media.offer", "call_id": call_id, "sdp": offer})
            await peer.accept_answer((await sock.expect("media.answer", timeout=10))["sdp"])
        for peer in peers:
            await peer.wait_for_video_frames(20, timeout=15)
        assert peers[0].stats.sources(next(iter(peers[0].stats.marks))) == {7}
    finally:
        for peer in peers:
            await peer.close()
        await nurse.close()
        await tablet.close()


class _Quiet(asyncio.DatagramProtocol):
    pass


async def _allocate(port: int, username: str, password: str) -> None:
    transport, _ = await aioice.turn.create_turn_endpoint(
        _Quiet, ("127.0.0.1", port), username, password, transport="udp"
    )
    transport.close()


async def test_coturn_refuses_an_expired_hoiva_credential(coturn: Coturn) -> None:
    """A credential minted by Hoiva allocates a relay; the same scheme past its expiry is
    refused by coturn (401), so a leaked credential is useless after its lifetime."""
    now = datetime.now(UTC)
    fresh = turn_credential(SECRET, "c-41", now, 60)
    await _allocate(coturn.port, fresh.username, fresh.password)

    expired = turn_credential(SECRET, "c-41", now - timedelta(hours=2), 60)
    with pytest.raises(aioice.stun.TransactionFailed) as refused:
        await _allocate(coturn.port, expired.username, expired.password)
    assert refused.value.response.attributes["ERROR-CODE"][0] == 401

    forged = turn_credential("not-the-secret", "c-41", now, 60)
    with pytest.raises(aioice.stun.TransactionFailed):
        await _allocate(coturn.port, forged.username, forged.password)
