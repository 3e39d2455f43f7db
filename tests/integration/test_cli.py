"""The `hoiva` command as people run it: the demo, and a headless tablet paired by code."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp

from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD, RunningServer, free_port

HOIVA = [sys.executable, "-m", "hoiva.cli"]
REPO = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def _process(*args: str, cwd: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *HOIVA,
        *args,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _read_until(process: asyncio.subprocess.Process, marker: str, timeout: float) -> str:
    assert process.stdout is not None
    seen = []
    async with asyncio.timeout(timeout):
        while True:
            line = (await process.stdout.readline()).decode()
            if not line:
                raise AssertionError("process ended early:\n" + "".join(seen))
            seen.append(line)
            if marker in line:
                return "".join(seen)


async def _online_clients(url: str, username: str, password: str) -> list[dict[str, str]]:
    nurse = HeadlessNurse(url, username, password)
    try:
        await nurse.login()
        async with nurse._http.get(f"{url}/api/clients") as response:
            assert response.status == 200
            clients: list[dict[str, str]] = await response.json()
    finally:
        await nurse.stop()
    return [c for c in clients if c["status"] == "online"]


async def test_demo_serves_and_its_simulated_tablet_takes_a_call(tmp_path: Path) -> None:
    """`hoiva demo --tablets 2` prints logins; a nurse calls a simulated tablet; SIGTERM ends it."""
    port = free_port()
    async with _process("demo", "--port", str(port), "--tablets", "2", cwd=tmp_path) as demo:
        output = await _read_until(demo, "Press Ctrl+C", timeout=60)
        assert "nina" in output and "/dashboard" in output
        assert output.count("Simulated tablet online") == 2
        url = f"http://127.0.0.1:{port}"
        online = await _online_clients(url, "nina", "nina-demo-pass")
        assert len(online) == 2

        nurse = HeadlessNurse(url, "nina", "nina-demo-pass")
        await nurse.start()
        try:
            await nurse.call(online[0]["id"])
            assert nurse.peer is not None
            await nurse.peer.wait_for_video_frames(30, timeout=20)
            await nurse.hang_up()
            await asyncio.wait_for(nurse.ended.wait(), 5)
        finally:
            await nurse.stop()

        # The probe command the demo prints places a test call and reports its setup time.
        [probe_line] = [line for line in output.splitlines() if "hoiva probe" in line]
        probe_args = probe_line.split("hoiva probe", 1)[1].split()
        async with _process("probe", *probe_args, cwd=tmp_path) as probe:
            assert probe.stdout is not None
            printed = (await asyncio.wait_for(probe.stdout.read(), 60)).decode()
            assert await asyncio.wait_for(probe.wait(), 10) == 0, printed
            report = json.loads(printed.strip().splitlines()[-1])
        assert report["ok"] is True
        assert report["frames"] >= 10
        assert 0 < report["setup_ms"] < 20_000
        assert report["error"] is None

        demo.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(demo.wait(), 20) == 0
    assert (tmp_path / "var" / "hoiva-demo.sqlite3").exists()


async def test_headless_tablet_command_pairs_and_answers(
    server: RunningServer, tmp_path: Path
) -> None:
    """`hoiva tablet --pairing-code` redeems the code, stores the token and answers a call."""
    client = await server.add_client("Aino", auto_answer=True, after_s=0)
    assert server.admin is not None
    code = await server.services.auth.issue_pairing_code(client.id, server.admin.id)
    token_file = tmp_path / "token"
    async with _process(
        "tablet",
        "--server",
        server.url,
        "--pairing-code",
        code.code,
        "--token-file",
        str(token_file),
        "--synthetic",
        "--media-address",
        "127.0.0.1",
        cwd=tmp_path,
    ) as tablet:
        await _read_until(tablet, "waiting for calls", timeout=30)
        assert token_file.read_text().strip()
        assert oct(token_file.stat().st_mode & 0o777) == "0o600"
        nurse = HeadlessNurse(server.url, "nurse1", NURSE_PASSWORD)
        await nurse.start()
        try:
            await nurse.call(client.id)
            assert nurse.peer is not None
            await nurse.peer.wait_for_video_frames(30, timeout=20)
            assert nurse.peer.stats.audio_frames > 0
        finally:
            await nurse.stop()


async def test_used_pairing_code_is_refused_by_the_command(
    server: RunningServer, tmp_path: Path
) -> None:
    client = await server.add_client("Aino")
    assert server.admin is not None
    code = await server.services.auth.issue_pairing_code(client.id, server.admin.id)
    async with aiohttp.ClientSession() as http:
        response = await http.post(f"{server.url}/api/tablet/pair", json={"code": code.code})
        assert response.status == 200
    async with _process(
        "tablet", "--server", server.url, "--pairing-code", code.code, cwd=tmp_path
    ) as tablet:
        assert await asyncio.wait_for(tablet.wait(), 30) != 0
