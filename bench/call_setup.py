"""Call setup time: "nurse presses call" -> first decoded video frame, at each end.

Headless nurse and headless tablet (auto-answer at once) on this machine, media on 127.0.0.1,
through Hoiva's signaling and media server. Prints one JSON object as its last line.
Run: .venv/bin/python -m bench.call_setup [--calls 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics

from bench.harness import NURSE, start_bench_server
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


async def measure(calls: int) -> dict[str, object]:
    server = await start_bench_server(clients=1)
    client_id, token = next(iter(server.tablet_tokens.items()))
    tablet = HeadlessTablet(server.url, token, source_id=1, answer_after_s=0)
    nurse = HeadlessNurse(server.url, *NURSE, source_id=2)
    await tablet.start()
    await nurse.start()
    nurse_ms: list[float] = []
    tablet_ms: list[float] = []
    try:
        for _ in range(calls + 1):  # the first call warms caches and is not counted
            await nurse.call(client_id)
            assert nurse.peer is not None
            await nurse.peer.wait_for_video_frames(1, timeout=10)
            await asyncio.wait_for(tablet.in_call.wait(), 10)
            tablet_peer = tablet.peer
            assert tablet_peer is not None
            await tablet_peer.wait_for_video_frames(1, timeout=10)
            pressed = nurse.call_pressed_at
            assert pressed is not None and nurse.peer.stats.first_video_frame_at is not None
            nurse_ms.append((nurse.peer.stats.first_video_frame_at - pressed) * 1000)
            assert tablet_peer.stats.first_video_frame_at is not None
            tablet_ms.append((tablet_peer.stats.first_video_frame_at - pressed) * 1000)
            await nurse.hang_up()
            await asyncio.wait_for(tablet.call_over.wait(), 10)
            await asyncio.wait_for(nurse.ended.wait(), 10)
            await nurse.peer.close()
            await asyncio.sleep(0.2)
    finally:
        await nurse.stop()
        await tablet.stop()
        await server.close()
    return {
        "calls": calls,
        "nurse_first_frame_ms": _summary(nurse_ms[1:]),
        "tablet_first_frame_ms": _summary(tablet_ms[1:]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(asyncio.run(measure(args.calls))))


if __name__ == "__main__":
    main()
