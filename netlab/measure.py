"""Measuring a participant's link from the server side: round trips, loss, rate.

The participant's half runs `netlab.probe` programs inside its namespace; the server's half
runs here, on the caller's event loop. Results are plain figures for tests to bound and for
`bench/netlab.py` to print.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field

from netlab.errors import NetlabError
from netlab.lab import Participant
from netlab.links import SERVER_ADDRESS
from netlab.namespaces import stop_process
from netlab.probe import StreamResult, read_stamp, stamp

ECHO_PORT = 9_000
SINK_PORT = 9_001
_PROBE = [sys.executable, "-m", "netlab.probe"]


@dataclass
class RoundTrips:
    """Round-trip samples of one probe run, in order of sending (None: lost)."""

    samples_ms: list[float | None] = field(default_factory=list)
    reordered: int = 0

    @property
    def received(self) -> list[float]:
        return [s for s in self.samples_ms if s is not None]

    @property
    def lost(self) -> int:
        return sum(1 for s in self.samples_ms if s is None)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.received) if self.received else float("nan")

    @property
    def jitter_ms(self) -> float:
        """Standard deviation of the round-trip time."""
        got = self.received
        return statistics.pstdev(got) if len(got) > 1 else 0.0

    @property
    def loss_pct(self) -> float:
        return 100 * self.lost / len(self.samples_ms) if self.samples_ms else 0.0


async def start_probe(participant: Participant, argv: list[str]) -> asyncio.subprocess.Process:
    """Start `netlab.probe` with `argv` in the participant and wait until its socket is bound."""
    process = await participant.spawn(
        [*_PROBE, *argv], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), 10)
    if line.strip() != b"ready":
        await stop_process(process)
        raise NetlabError(f"probe {argv[0]} in {participant.name} did not start")
    return process


class _Collector(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.arrivals: list[tuple[bytes, float]] = []
        self.got = asyncio.Event()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        self.arrivals.append((data, time.monotonic()))
        self.got.set()


async def round_trips(
    participant: Participant, count: int = 100, interval_s: float = 0.01, size: int = 200
) -> RoundTrips:
    """Echo `count` datagrams off the participant, one every `interval_s`."""
    echo = await start_echo(participant)
    try:
        return await ping(participant.address, count, interval_s, size)
    finally:
        await stop_process(echo)


async def start_echo(participant: Participant) -> asyncio.subprocess.Process:
    """An echo probe on the participant's ECHO_PORT, ready to answer `ping`."""
    return await start_probe(participant, ["echo", "--port", str(ECHO_PORT)])


async def ping(
    address: str, count: int, interval_s: float, size: int = 200, wait_s: float = 2.0
) -> RoundTrips:
    """Send `count` datagrams to an echo probe at `address`; a lost one is not back in `wait_s`."""
    loop = asyncio.get_running_loop()
    collector = _Collector()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: collector, local_addr=(SERVER_ADDRESS, 0)
    )
    try:
        start = time.monotonic()
        for sequence in range(count):
            await asyncio.sleep(max(0.0, start + sequence * interval_s - time.monotonic()))
            transport.sendto(stamp(sequence, size), (address, ECHO_PORT))
        await asyncio.sleep(wait_s)
    finally:
        transport.close()
    result = RoundTrips(samples_ms=[None] * count)
    highest = -1
    for data, arrived in collector.arrivals:
        sequence, sent = read_stamp(data)
        if 0 <= sequence < count:
            result.samples_ms[sequence] = (arrived - sent) * 1000
        if sequence < highest:
            result.reordered += 1
        highest = max(highest, sequence)
    return result


async def downstream(
    participant: Participant, kbps: float, seconds: float = 2.0, size: int = 1200
) -> StreamResult:
    """Send a stream at `kbps` from the server side; what the participant received."""
    sink = await start_probe(
        participant, ["sink", "--port", str(SINK_PORT), "--idle", "1", "--max", str(seconds + 10)]
    )
    try:
        await _blast_from_server(participant.address, SINK_PORT, kbps, seconds, size)
        assert sink.stdout is not None
        line = await asyncio.wait_for(sink.stdout.readline(), seconds + 15)
    finally:
        await stop_process(sink)
    return StreamResult(**json.loads(line))


async def upstream(
    participant: Participant, kbps: float, seconds: float = 2.0, size: int = 1200
) -> StreamResult:
    """Send a stream at `kbps` from the participant; what the server side received."""
    sink = await asyncio.create_subprocess_exec(
        *_PROBE,
        "sink",
        "--port",
        str(SINK_PORT),
        "--idle",
        "1",
        "--max",
        str(seconds + 10),
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert sink.stdout is not None
        await asyncio.wait_for(sink.stdout.readline(), 10)
        await participant.run(
            [*_PROBE, "blast", *_stream_args(SERVER_ADDRESS, kbps, seconds, size)],
            timeout=seconds + 10,
        )
        line = await asyncio.wait_for(sink.stdout.readline(), 15)
    finally:
        await stop_process(sink)
    return StreamResult(**json.loads(line))


async def _blast_from_server(host: str, port: int, kbps: float, seconds: float, size: int) -> None:
    # Its own process: pacing thousands of datagrams a second is no job for a busy event loop.
    process = await asyncio.create_subprocess_exec(
        *_PROBE,
        "blast",
        *_stream_args(host, kbps, seconds, size, port),
        stdout=asyncio.subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        await asyncio.wait_for(process.wait(), seconds + 10)
    finally:
        await stop_process(process)


def _stream_args(
    host: str, kbps: float, seconds: float, size: int, port: int = SINK_PORT
) -> list[str]:
    return [
        *("--host", host, "--port", str(port), "--kbps", str(kbps)),
        *("--size", str(size), "--seconds", str(seconds)),
    ]
