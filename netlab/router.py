"""The user-space router between a participant's tun device and the server side's.

Run as its own process (`python -m netlab.router`), one per participant, so that forwarding
never waits on the test's event loop or its GIL. It owns the delay, jitter and blackouts of
one link; rate caps (tbf) and loss (nftables) stay in the kernel. Control is one JSON object a
line on stdin, each answered by one JSON line on stdout; end of stdin stops the router, so a
router never outlives the process that started it.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import heapq
import itertools
import json
import os
import select
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from netlab.delay import DelayLine, DirectionSpec

# Packets read from one device before the router looks at its timers again.
READ_BATCH = 64
_MAX_PACKET = 65_536


@dataclass
class Direction:
    """Packets read from `source`, held by the delay line, written to `sink`."""

    name: str
    source: int
    sink: int
    line: DelayLine
    queue: list[tuple[float, int, bytes]] = field(default_factory=list)
    forwarded: int = 0
    forwarded_bytes: int = 0
    dropped: int = 0


class Router:
    """Forwards between two tun file descriptors with delay, jitter and blackouts."""

    def __init__(self, server_fd: int, participant_fd: int) -> None:
        still = DirectionSpec(delay_s=0.0, jitter_s=0.0)
        self.down = Direction("down", server_fd, participant_fd, DelayLine(still))
        self.up = Direction("up", participant_fd, server_fd, DelayLine(still))
        self._by_source = {server_fd: self.down, participant_fd: self.up}
        self._sequence = itertools.count()
        self.blackout_until = 0.0

    def configure(self, down: DirectionSpec, up: DirectionSpec) -> None:
        self.down.line.set_spec(down)
        self.up.line.set_spec(up)

    def blackout(self, seconds: float) -> None:
        """Drop everything from now for `seconds`, packets already in flight included."""
        self.blackout_until = time.monotonic() + seconds
        for direction in (self.down, self.up):
            direction.dropped += len(direction.queue)
            direction.queue.clear()

    def read(self, fd: int) -> None:
        direction = self._by_source[fd]
        for _ in range(READ_BATCH):
            try:
                packet = os.read(fd, _MAX_PACKET)
            except BlockingIOError:
                return
            except OSError as exc:
                # The device went away (its namespace was removed): stop reading it.
                if exc.errno in (errno.EBADFD, errno.EIO, errno.ENXIO):
                    return
                raise
            now = time.monotonic()
            if now < self.blackout_until:
                direction.dropped += 1
                continue
            at = direction.line.deliver_at(now)
            heapq.heappush(direction.queue, (at, next(self._sequence), packet))

    def deliver_due(self) -> float | None:
        """Write every packet whose time has come; seconds until the next one, if any."""
        now = time.monotonic()
        wait: float | None = None
        for direction in (self.down, self.up):
            queue = direction.queue
            while queue and queue[0][0] <= now:
                _, _, packet = heapq.heappop(queue)
                try:
                    os.write(direction.sink, packet)
                except OSError:
                    direction.dropped += 1
                    continue
                direction.forwarded += 1
                direction.forwarded_bytes += len(packet)
            if queue:
                left = queue[0][0] - now
                wait = left if wait is None else min(wait, left)
        return wait

    def stats(self) -> dict[str, Any]:
        times = os.times()
        return {
            "cpu_s": round(times.user + times.system, 4),
            **{
                f"{d.name}_{key}": value
                for d in (self.down, self.up)
                for key, value in (
                    ("packets", d.forwarded),
                    ("bytes", d.forwarded_bytes),
                    ("dropped", d.dropped),
                )
            },
        }

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        match command.get("cmd"):
            case "configure":
                self.configure(DirectionSpec(**command["down"]), DirectionSpec(**command["up"]))
                return {"ok": True}
            case "blackout":
                self.blackout(float(command["seconds"]))
                return {"ok": True}
            case "stats":
                return {"ok": True, **self.stats()}
            case other:
                return {"ok": False, "error": f"unknown command {other!r}"}


def serve(router: Router, control: int) -> None:
    """Forward until `control` (stdin) reaches its end."""
    poller = select.epoll()
    for fd in (router.down.source, router.up.source, control):
        poller.register(fd, select.EPOLLIN)
    pending = b""
    wait: float | None = None
    while True:
        # epoll rounds the timeout up to the next millisecond: packets leave at most 1 ms late.
        for fd, _ in poller.poll(-1 if wait is None else wait):
            if fd != control:
                router.read(fd)
                continue
            chunk = os.read(control, 65_536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    reply = router.handle(json.loads(line))
                except (ValueError, KeyError, TypeError) as exc:
                    reply = {"ok": False, "error": str(exc)}
                os.write(sys.stdout.fileno(), json.dumps(reply).encode() + b"\n")
        wait = router.deliver_due()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab.router", description=__doc__)
    parser.add_argument("--server-fd", type=int, required=True)
    parser.add_argument("--participant-fd", type=int, required=True)
    args = parser.parse_args(argv)
    for fd in (args.server_fd, args.participant_fd):
        os.set_blocking(fd, False)
    router = Router(args.server_fd, args.participant_fd)
    os.write(sys.stdout.fileno(), b'{"ok": true, "ready": true}\n')
    with contextlib.suppress(KeyboardInterrupt):
        serve(router, sys.stdin.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
