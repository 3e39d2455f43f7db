"""The echo test and `hoiva probe`: a real call to the media server and back, as metrics."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tablet_client.echo_test import run_echo_test
from tests.conftest import RunningServer, free_port, make_config, serving
from tests.integration.wire import RawSocket

PROBE_TOKEN = "probe-test-token-0123456789"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def probed(tmp_path: Path) -> AsyncIterator[RunningServer]:
    config = make_config(
        tmp_path, **{"probe.token": PROBE_TOKEN, "probe.echo_max_s": 2.0, "probe.max_echo_tests": 2}
    )
    async with serving(config) as running:
        yield running


async def test_the_probe_gets_its_own_media_back(probed: RunningServer) -> None:
    result = await run_echo_test(probed.url, PROBE_TOKEN, frames=10, timeout_s=20)
    assert result.ok, result.error
    assert result.frames >= 10
    assert result.setup_s is not None and 0 < result.setup_s < 20
    # Stopped and torn down: nothing left running in the media server.
    for _ in range(50):
        if probed.services.signaling.echo.running == 0:
            break
        await asyncio.sleep(0.05)
    assert probed.services.signaling.echo.running == 0
    assert probed.services.media.rooms_active == 0


async def test_a_tablet_runs_the_echo_test_for_its_self_test(probed: RunningServer) -> None:
    client = await probed.add_client("Aino")
    result = await run_echo_test(probed.url, await probed.enrol_tablet(client), frames=5)
    assert result.ok, result.error


async def test_a_wrong_probe_token_is_refused(probed: RunningServer) -> None:
    result = await run_echo_test(probed.url, "not-the-probe-token", timeout_s=5)
    assert not result.ok
    assert result.frames == 0


async def test_echo_tests_end_by_themselves_and_are_capped(probed: RunningServer) -> None:
    from media.client_peer import ClientPeer
    from media.synthetic import SyntheticVideoTrack

    sockets = [await RawSocket.open(probed.ws_url, token=PROBE_TOKEN) for _ in range(3)]
    peers = [ClientPeer(video=SyntheticVideoTrack(source_id=n)) for n in range(3)]
    try:
        for n, (sock, peer) in enumerate(zip(sockets, peers, strict=True)):
            await sock.send(
                {"type": "echo.start", "ref": f"e{n}", "sdp": await peer.create_offer()}
            )
        answers = [await sockets[n].expect("echo.answer") for n in range(2)]
        refused = await sockets[2].expect("error")
        assert (refused["code"], refused["ref"]) == ("busy", "e2")
        # Someone else's echo test cannot be stopped: it looks like none at all.
        await sockets[1].send({"type": "echo.stop", "echo_id": answers[0]["echo_id"], "ref": "s"})
        assert (await sockets[1].expect("error"))["code"] == "not_found"
        stopped = await sockets[0].expect("echo.stopped", timeout=5)
        assert (stopped["echo_id"], stopped["reason"]) == (answers[0]["echo_id"], "timeout")
        # A socket that goes away takes its echo test with it.
        await sockets[1].close()
        for _ in range(50):
            if probed.services.signaling.echo.running == 0:
                break
            await asyncio.sleep(0.05)
        assert probed.services.signaling.echo.running == 0
    finally:
        for peer in peers:
            await peer.close()
        for sock in sockets:
            await sock.close()


async def test_hoiva_probe_exports_success_and_setup_time(probed: RunningServer) -> None:
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hoiva.cli",
        "probe",
        "--url",
        probed.url,
        "--token",
        PROBE_TOKEN,
        "--every",
        "0.02",
        "--metrics-port",
        str(port),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        samples: dict[str, float] = {}
        async with aiohttp.ClientSession() as http, asyncio.timeout(60):
            while samples.get("hoiva_probe_runs_total{result=success}", 0) < 2:
                await asyncio.sleep(0.5)
                try:
                    async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                        text = await response.text()
                except aiohttp.ClientConnectionError:
                    continue
                samples = {
                    sample.name
                    + (
                        "{" + ",".join(f"{k}={v}" for k, v in sample.labels.items()) + "}"
                        if sample.labels
                        else ""
                    ): sample.value
                    for family in text_string_to_metric_families(text)
                    for sample in family.samples
                }
        assert samples["hoiva_probe_success"] == 1.0
        assert 0 < samples["hoiva_probe_setup_seconds"] < 20
        assert samples.get("hoiva_probe_runs_total{result=failure}", 0) == 0
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
