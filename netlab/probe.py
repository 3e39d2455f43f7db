"""Small UDP programs that measure a link: echo, sink and blast (`python -m netlab.probe`).

Every datagram starts with a sequence number and the sender's CLOCK_MONOTONIC time; namespaces
share that clock, so the receiver can tell one-way delay as well as loss and order. Each
program prints `ready` once its socket is bound and, when it ends, one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import struct
import sys
import time
from dataclasses import asdict, dataclass

HEADER = struct.Struct("!Id")


def stamp(sequence: int, size: int) -> bytes:
    """A datagram of `size` bytes carrying `sequence` and the time now."""
    header = HEADER.pack(sequence, time.monotonic())
    return header + bytes(max(0, size - len(header)))


def read_stamp(data: bytes) -> tuple[int, float]:
    sequence, sent = HEADER.unpack_from(data)
    return int(sequence), float(sent)


@dataclass
class StreamResult:
    """What a sink saw of one stream."""

    packets: int = 0
    received_bytes: int = 0
    first_s: float = 0.0
    last_s: float = 0.0
    reordered: int = 0
    highest: int = -1
    delay_ms_max: float = 0.0
    delay_ms_sum: float = 0.0

    def add(self, data: bytes, now: float) -> None:
        sequence, sent = read_stamp(data)
        if self.packets == 0:
            self.first_s = now
        self.packets += 1
        self.received_bytes += len(data)
        self.last_s = now
        if sequence < self.highest:
            self.reordered += 1
        self.highest = max(self.highest, sequence)
        delay_ms = (now - sent) * 1000
        self.delay_ms_max = max(self.delay_ms_max, delay_ms)
        self.delay_ms_sum += delay_ms

    @property
    def kbps(self) -> float:
        """Received rate from first to last arrival, IP and UDP headers included."""
        span = self.last_s - self.first_s
        if self.packets < 2 or span <= 0:
            return 0.0
        # The first datagram opens the span; what arrived after it filled the span.
        per_packet = (self.received_bytes + 28 * self.packets) / self.packets
        return per_packet * (self.packets - 1) * 8 / span / 1000


def _ready() -> None:
    print("ready", flush=True)


def echo(port: int) -> None:
    """Send every datagram back to where it came from, until killed."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("0.0.0.0", port))
        _ready()
        while True:
            data, peer = sock.recvfrom(65_536)
            sock.sendto(data, peer)


def sink(port: int, idle_s: float, max_s: float) -> StreamResult:
    """Count a stream from its first datagram until `idle_s` of silence or `max_s` in all."""
    result = StreamResult()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind(("0.0.0.0", port))
        _ready()
        deadline = time.monotonic() + max_s
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            sock.settimeout(min(idle_s, deadline - now) if result.packets else deadline - now)
            try:
                data = sock.recv(65_536)
            except TimeoutError:
                break
            result.add(data, time.monotonic())
    return result


def blast(host: str, port: int, kbps: float, size: int, seconds: float) -> int:
    """Send `size`-byte datagrams at `kbps` (IP and UDP headers included) for `seconds`."""
    interval = (size + 28) * 8 / (kbps * 1000)
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        _ready()
        start = time.monotonic()
        end = start + seconds
        while True:
            now = time.monotonic()
            if now >= end:
                break
            due = int((now - start) / interval) + 1
            while sent < due:
                # A full local queue loses the packet here, as a full modem would.
                with contextlib.suppress(OSError):
                    sock.sendto(stamp(sent, size), (host, port))
                sent += 1
            time.sleep(min(0.001, max(0.0, start + sent * interval - time.monotonic())))
    return sent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab.probe", description=__doc__)
    sub = parser.add_subparsers(dest="program", required=True)
    echo_parser = sub.add_parser("echo")
    echo_parser.add_argument("--port", type=int, required=True)
    sink_parser = sub.add_parser("sink")
    sink_parser.add_argument("--port", type=int, required=True)
    sink_parser.add_argument("--idle", type=float, default=1.0)
    sink_parser.add_argument("--max", type=float, default=30.0)
    blast_parser = sub.add_parser("blast")
    blast_parser.add_argument("--host", required=True)
    blast_parser.add_argument("--port", type=int, required=True)
    blast_parser.add_argument("--kbps", type=float, required=True)
    blast_parser.add_argument("--size", type=int, default=1200)
    blast_parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    try:
        if args.program == "echo":
            echo(args.port)
        elif args.program == "sink":
            print(json.dumps(asdict(sink(args.port, args.idle, args.max))), flush=True)
        else:
            sent = blast(args.host, args.port, args.kbps, args.size, args.seconds)
            print(json.dumps({"sent": sent}), flush=True)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
