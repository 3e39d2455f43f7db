"""Media server probe: first-frame time of a 1:1 call, and the cost of packet-level fan-out.

Everything runs in this process on 127.0.0.1, without signaling (it drives `media` directly):
- first frame: two headless client peers (synthetic VP8 320x240 at 30 fps) join a room; time
  from creating the first offer to each side's first decoded frame.
- fan-out: one publisher (VP8 640x480 at 30 fps) and N subscribers that count packets without
  decoding (forwarding peer connections with nobody attached), so that the process's CPU goes
  to the server side; the server's fan-out is timed with perf_counter per packet.
Prints one JSON object as its last line.
Run: .venv/bin/python -m bench.forwarding_probe [--calls 5] [--subscribers 1 8 32] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from aiortc import RTCSessionDescription

from media import MediaRoom, MediaServer, MediaSettings
from media.client_peer import ClientPeer
from media.events import MediaEvent
from media.forwarding import ForwardingReceiver
from media.ice import to_rtc_configuration
from media.peer import ForwardingPeerConnection
from media.synthetic import SyntheticVideoTrack


class _NullSignal:
    async def send_offer(self, participant_id: str, sdp: str) -> None:
        return None

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        return None


class _CountingSubscriber:
    """A subscriber that receives, reports and NACKs like a peer, but never decodes."""

    def __init__(self) -> None:
        self.pc = ForwardingPeerConnection(to_rtc_configuration([]))

    async def join(self, room: MediaRoom, participant_id: str) -> None:
        for kind in ("audio", "video"):
            # ForwardingPeerConnection makes transceivers sendrecv; this one only receives.
            self.pc.addTransceiver(kind).direction = "recvonly"
        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await room.connect(participant_id, self.pc.localDescription.sdp)
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))

    def packets(self) -> int:
        return sum(
            t.receiver.packets_received
            for t in self.pc.getTransceivers()
            if isinstance(t.receiver, ForwardingReceiver)
        )


def _summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


async def first_frame(server: MediaServer, calls: int) -> dict[str, float]:
    samples: list[float] = []
    for index in range(calls):
        room = server.open_room(f"first-frame-{index}", _NullSignal())
        peers = [
            ClientPeer(video=SyntheticVideoTrack(source, width=320, height=240))
            for source in (1, 2)
        ]
        started = time.monotonic()
        for name, peer in zip(("a", "b"), peers, strict=True):
            await peer.accept_answer(await room.connect(name, await peer.create_offer()))
        await asyncio.gather(*(peer.wait_for_video_frames(1, timeout=10) for peer in peers))
        for peer in peers:
            assert peer.stats.first_video_frame_at is not None
            samples.append((peer.stats.first_video_frame_at - started) * 1000)
            await peer.close()
        await server.close_room(room.room_id)
    return _summary(samples)


async def fan_out(server: MediaServer, subscribers: int, seconds: float) -> dict[str, Any]:
    room = server.open_room(f"fan-out-{subscribers}", _NullSignal())
    publisher = ClientPeer(video=SyntheticVideoTrack(1, width=640, height=480), audio=True)
    await publisher.accept_answer(await room.connect("publisher", await publisher.create_offer()))
    subs = [_CountingSubscriber() for _ in range(subscribers)]
    for index, sub in enumerate(subs):
        await sub.join(room, f"sub-{index}")
    await asyncio.sleep(2.0)  # connect, first keyframes, REMB ramp-up

    spent = 0.0  # wall time inside fan-out, including waits for the GIL held by codec threads
    spent_cpu = 0.0  # CPU time of the event-loop thread inside fan-out: the forwarding cost
    packets = 0
    original = ForwardingReceiver._fan_out

    def timed(self: ForwardingReceiver, packet: Any, fresh: bool) -> None:
        nonlocal spent, spent_cpu, packets
        begin, begin_cpu = time.perf_counter(), time.thread_time()
        original(self, packet, fresh)
        spent += time.perf_counter() - begin
        spent_cpu += time.thread_time() - begin_cpu
        packets += 1

    received_before = sum(sub.packets() for sub in subs)
    cpu_before, wall_before = time.process_time(), time.monotonic()
    ForwardingReceiver._fan_out = timed  # type: ignore[method-assign]
    try:
        await asyncio.sleep(seconds)
    finally:
        ForwardingReceiver._fan_out = original  # type: ignore[method-assign]
    wall = time.monotonic() - wall_before
    cpu = time.process_time() - cpu_before
    received = sum(sub.packets() for sub in subs) - received_before

    await publisher.close()
    await asyncio.gather(*(sub.pc.close() for sub in subs))
    await server.close_room(room.room_id)
    per_copy = packets * subscribers
    return {
        "subscribers": subscribers,
        "publisher_packets_per_s": round(packets / wall, 1),
        "delivered_packets_per_s": round(received / wall, 1),
        "fan_out_cpu_us_per_packet_copy": round(spent_cpu / per_copy * 1e6, 1) if packets else 0,
        "fan_out_wall_us_per_packet_copy": round(spent / per_copy * 1e6, 1) if packets else 0,
        "fan_out_cpu_core_pct_per_subscriber": round(spent_cpu / wall / subscribers * 100, 3),
        "process_core_pct": round(cpu / wall * 100, 1),
    }


async def main(calls: int, subscriber_counts: list[int], seconds: float) -> dict[str, Any]:
    server = MediaServer(MediaSettings(bind_addresses=("127.0.0.1",)))
    await server.start()
    try:
        result: dict[str, Any] = {"first_frame_ms": await first_frame(server, calls)}
        result["fan_out"] = [await fan_out(server, n, seconds) for n in subscriber_counts]
        return result
    finally:
        await server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.calls, args.subscribers, args.seconds))))
