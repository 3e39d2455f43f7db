"""The lab with real namespaces and real packets: each profile does what it says.

Bounds are generous (this machine is shared and loaded); they tell the profiles apart and
catch a lab that does nothing, not milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from netlab import SERVER_ADDRESS, Lab, NotIsolatedError, measure
from netlab.links import open_tun
from netlab.namespaces import stop_process
from netlab.profiles import PROFILES, AddressChange

ROOT = Path(__file__).resolve().parents[2]
# A link that only loses: fast and without delay, so loss can be counted over many packets.
LOSSY = PROFILES["bad"].with_changes(
    name="lossy", rtt_ms=0, jitter_ms=0, down_kbps=50_000, up_kbps=50_000
)


def _links() -> list[str]:
    out = subprocess.run(["ip", "-json", "link"], capture_output=True, text=True, check=True)
    return [link["ifname"] for link in json.loads(out.stdout)]


def _nft_tables() -> str:
    return subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


async def test_participant_reaches_the_server_side_and_all_is_removed_after() -> None:
    """A program in the participant reaches the server's bound address; exit leaves nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        async with Lab() as lab:
            home = await lab.add_participant("home1", profile="fibre")
            server.bind((SERVER_ADDRESS, 0))
            port = server.getsockname()[1]
            server.settimeout(5)
            await home.run(
                [
                    sys.executable,
                    "-c",
                    "import os, socket, sys; "
                    "socket.socket(2, 2).sendto(b'hi', (os.environ['NETLAB_SERVER'], "
                    f"{port}))",
                ]
            )
            data, (source, _) = server.recvfrom(100)
            assert (data, source) == (b"hi", home.address)
            pids = [home.router.process.pid, home.namespace.pid]
            assert "hlab1" in _links()
    assert [name for name in _links() if name != "lo"] == []
    assert "netlab" not in _nft_tables()
    assert not any(_alive(pid) for pid in pids)


async def test_a_failing_test_still_cleans_up() -> None:
    """An exception inside the lab stops spawned programs, routers and namespaces."""
    with pytest.raises(RuntimeError, match="boom"):
        async with Lab() as lab:
            home = await lab.add_participant("home1", profile="dsl")
            sleeper = await home.spawn(["sleep", "60"])
            pids = [sleeper.pid, home.router.process.pid, home.namespace.pid]
            raise RuntimeError("boom")
    assert [name for name in _links() if name != "lo"] == []
    assert not any(_alive(pid) for pid in pids)


async def test_refuses_a_namespace_with_other_interfaces() -> None:
    """The lab never sets up house where a real interface lives (the host's namespace)."""
    fd = open_tun("eth9")
    try:
        with pytest.raises(NotIsolatedError, match="eth9"):
            async with Lab():
                pass
    finally:
        os.close(fd)


async def test_weak_4g_round_trips_are_slow_jittery_and_in_order() -> None:
    """weak-4g's RTT is well above fibre's, varies, and jitter never reorders packets."""
    async with Lab() as lab:
        fibre = await lab.add_participant("office", profile="fibre")
        weak = await lab.add_participant(
            "home", profile=PROFILES["weak-4g"].with_changes(loss_pct=0)
        )
        fast, slow = await asyncio.gather(
            measure.round_trips(fibre, count=100), measure.round_trips(weak, count=150)
        )
    assert 8 <= fast.median_ms <= 60
    assert 90 <= slow.median_ms <= 250
    assert slow.median_ms > fast.median_ms + 60
    assert 8 <= slow.jitter_ms <= 70
    assert fast.lost == slow.lost == 0
    assert fast.reordered == slow.reordered == 0


async def test_set_profile_changes_the_link_mid_run() -> None:
    """A participant moved from fibre to bad sees bad's round-trip time at once."""
    async with Lab() as lab:
        home = await lab.add_participant("home", profile="fibre")
        await home.set_profile(PROFILES["bad"].with_changes(loss_pct=0))
        slow = await measure.round_trips(home, count=40, interval_s=0.02)
    assert slow.median_ms >= 200


async def test_loss_is_applied_in_each_direction() -> None:
    """8 % loss drops about 8 % of 2,000 datagrams down and of 2,000 up (±5 sd bands)."""
    async with Lab() as lab:
        home = await lab.add_participant("home", profile=LOSSY)
        down = await measure.downstream(home, kbps=1_000, seconds=2.0, size=100)
        up = await measure.upstream(home, kbps=1_000, seconds=2.0, size=100)
    sent = round(2.0 * 1_000_000 / 8 / 128)
    for result in (down, up):
        loss = 100 * (1 - result.packets / sent)
        assert 4.5 <= loss <= 12, (result, sent)


async def test_rate_caps_limit_throughput_each_way_with_a_bounded_queue() -> None:
    """3x overload through weak-4g's caps arrives at about the cap, delayed but not hoarded."""
    profile = PROFILES["weak-4g"].with_changes(loss_pct=0, jitter_ms=0)
    async with Lab() as lab:
        home = await lab.add_participant("home", profile=profile)
        down = await measure.downstream(home, kbps=3 * profile.down_kbps, seconds=2.0)
        up = await measure.upstream(home, kbps=3 * profile.up_kbps, seconds=2.0)
    assert 0.7 * profile.down_kbps <= down.kbps <= 1.15 * profile.down_kbps
    assert 0.7 * profile.up_kbps <= up.kbps <= 1.15 * profile.up_kbps
    # An unbounded queue would hold 2/3 of 2 s of overload; tbf's 200 ms drops the rest.
    one_way = profile.rtt_ms / 2
    for result in (down, up):
        assert result.delay_ms_max <= one_way + profile.queue_ms + 250


async def test_blackout_drops_everything_for_its_duration() -> None:
    """During a blackout nothing gets through; afterwards the link is as before."""
    async with Lab() as lab:
        home = await lab.add_participant("home", profile="fibre")
        echo = await measure.start_echo(home)
        try:
            before = await measure.ping(home.address, 10, 0.02, wait_s=0.5)
            await home.blackout(1.5)
            during = await measure.ping(home.address, 20, 0.02, wait_s=0.3)
            await asyncio.sleep(1.0)
            after = await measure.ping(home.address, 10, 0.02, wait_s=0.5)
        finally:
            await stop_process(echo)
    assert before.lost == 0
    assert during.lost == 20
    assert after.lost == 0


async def test_address_change_gives_a_new_address_and_the_old_one_is_gone() -> None:
    """After a change the participant sends from its new address; the old one reaches nothing."""
    script = (
        "import os, socket, sys\n"
        "s = socket.socket(2, 2)\n"
        "s.settimeout(1.5)\n"
        "s.sendto(b'hello', (os.environ['NETLAB_SERVER'], int(sys.argv[1])))\n"
        "got = []\n"
        "try:\n"
        "    while True:\n"
        "        got.append(s.recv(100).decode())\n"
        "except TimeoutError:\n"
        "    pass\n"
        "print(','.join(got))\n"
    )
    async with Lab() as lab:
        home = await lab.add_participant("home", profile="fibre")
        old = home.address
        new = await home.change_address()
        _, addresses, _ = await home.run(["ip", "-4", "-br", "addr", "show", "dev", "lab0"])
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
            server.bind((SERVER_ADDRESS, 0))
            server.setblocking(False)
            port = server.getsockname()[1]
            client = await home.spawn(
                [sys.executable, "-c", script, str(port)], stdout=asyncio.subprocess.PIPE
            )
            data, (source, source_port) = await asyncio.wait_for(
                loop.sock_recvfrom(server, 100), 10
            )
            for target in (old, new):
                server.sendto(f"to {target}".encode(), (target, source_port))
            out, _ = await asyncio.wait_for(client.communicate(), 10)
    assert new != old
    assert new in addresses and old not in addresses
    assert (data, source) == (b"hello", new)
    assert out.decode().strip().split(",") == [f"to {new}"]


async def test_profile_events_play_on_a_timeline() -> None:
    """`play_events` runs a profile's timed events (here an address change) from now."""
    async with Lab() as lab:
        home = await lab.add_participant(
            "home", profile=PROFILES["fibre"].with_changes(events=(AddressChange(at_s=0.2),))
        )
        first = home.address
        await asyncio.wait_for(home.play_events(), 5)
        assert home.address != first


def test_hoiva_lab_run_puts_a_command_on_a_link() -> None:
    """`hoiva lab run PROFILE -- COMMAND` runs it in a participant and returns its status."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hoiva.cli",
            "lab",
            "run",
            "weak-4g",
            "--name",
            "kitchen",
            "--",
            "sh",
            "-c",
            'ip -4 -br addr show dev lab0; echo "$NETLAB_SERVER"; exit 7',
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 7, done.stderr
    assert "10.203.1.2" in done.stdout and SERVER_ADDRESS in done.stdout
    assert "kitchen" in done.stderr and "weak-4g" in done.stderr
