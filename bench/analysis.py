"""What camera analysis costs the media server, and whether it slows forwarding.

One process, 127.0.0.1 only, no signaling (it drives `media` directly, like
bench/forwarding_probe.py): `--calls` rooms, each with a publisher (a headless client peer with
a synthetic camera, standing in for a tablet) and a subscriber that receives without decoding
(standing in for the nurse). Three phases of `--seconds` each, in the same run:

1. without analysis;
2. with an `AnalysisTap` per call in its default mode: ask for a keyframe every second and
   decode only keyframes, at most 2 a second;
3. with the other strategy: decode every frame in the worker, analyse at most 2 a second.

Measured with per-thread CPU clocks, so the client peers' encoders in the same process do not
count: forwarding = CPU of the event-loop thread inside `ForwardingReceiver.handle_rtp`
(which includes the taps' packet sinks when they are on); analysis = CPU of the analysis worker
thread inside decode + checks, plus the sinks' CPU on the event loop. Percentages are of one
core. The last line printed is one JSON object; its first three keys are the default mode's.

Run: .venv/bin/python -m bench.analysis [--calls 2] [--seconds 8] [--size 640x480] [--fps 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from aiortc.rtp import RtpPacket

from bench.forwarding_probe import _CountingSubscriber, _NullSignal
from media import MediaServer, MediaSettings
from media.analysis import AnalysisTap, EncodedFrame
from media.camera_checks import CameraWatch, CheckLimits, Observation
from media.client_peer import ClientPeer
from media.face_cascade import FaceDetector
from media.forwarding import ForwardingReceiver
from media.synthetic import SyntheticVideoTrack

Mode = Literal["keyframes", "all"]


class _Clocks:
    """Thread-CPU seconds spent in the patched places during one phase."""

    def __init__(self) -> None:
        self.forwarding = 0.0
        self.sinks = 0.0
        self.worker = 0.0
        self.decoded = 0
        self.analysed = 0
        self.packets = 0


class _Meter:
    """Patched into the measured places for the whole run; a phase swaps in fresh clocks."""

    def __init__(self) -> None:
        self.clocks = _Clocks()


def _patch(meter: _Meter) -> list[tuple[type, str, Any]]:
    original_handle = ForwardingReceiver.handle_rtp
    original_sink = AnalysisTap._on_packet
    original_work = AnalysisTap._decode_and_check

    def handle(self: ForwardingReceiver, packet: RtpPacket, arrival_time_ms: int) -> None:
        begin = time.thread_time()
        original_handle(self, packet, arrival_time_ms)
        meter.clocks.forwarding += time.thread_time() - begin
        meter.clocks.packets += 1

    def sink(self: AnalysisTap, packet: RtpPacket) -> None:
        begin = time.thread_time()
        original_sink(self, packet)
        meter.clocks.sinks += time.thread_time() - begin

    def work(self: AnalysisTap, frame: EncodedFrame, analyse: bool) -> Observation | None:
        begin = time.thread_time()
        try:
            observation = original_work(self, frame, analyse)
        finally:
            meter.clocks.worker += time.thread_time() - begin
        meter.clocks.decoded += 1
        meter.clocks.analysed += observation is not None
        return observation

    ForwardingReceiver.handle_rtp = handle  # type: ignore[method-assign]
    AnalysisTap._on_packet = sink  # type: ignore[method-assign]
    AnalysisTap._decode_and_check = work  # type: ignore[method-assign]
    return [
        (ForwardingReceiver, "handle_rtp", original_handle),
        (AnalysisTap, "_on_packet", original_sink),
        (AnalysisTap, "_decode_and_check", original_work),
    ]


async def _phase(meter: _Meter, seconds: float) -> tuple[_Clocks, float]:
    clocks = meter.clocks = _Clocks()
    started = time.monotonic()
    await asyncio.sleep(seconds)
    meter.clocks = _Clocks()
    return clocks, time.monotonic() - started


def _pct(seconds: float, wall: float) -> float:
    return round(100 * seconds / wall, 2)


async def main(calls: int, seconds: float, width: int, height: int, fps: int) -> dict[str, Any]:
    server = MediaServer(MediaSettings(bind_addresses=("127.0.0.1",)))
    await server.start()
    publishers: list[ClientPeer] = []
    subscribers: list[_CountingSubscriber] = []
    video_in: list[ForwardingReceiver] = []
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-analysis")
    detector = FaceDetector()
    meter = _Meter()
    # Patched before any tap exists: a tap hands the receiver its bound sink when it starts.
    originals = _patch(meter)
    try:
        for index in range(calls):
            room = server.open_room(f"analysis-{index}", _NullSignal())
            camera = SyntheticVideoTrack(index + 1, fps=fps, width=width, height=height)
            publisher = ClientPeer(video=camera, decode_marks=False)
            await publisher.accept_answer(
                await room.connect("client", await publisher.create_offer())
            )
            subscriber = _CountingSubscriber()
            await subscriber.join(room, "nurse")
            publishers.append(publisher)
            subscribers.append(subscriber)
            receivers, _ = room.forwarding_parts("client")
            video_in.append(next(r for r in receivers if r.media_kind == "video"))
        await asyncio.sleep(3.0)  # connected, first keyframes, bitrate ramp-up

        without, wall_without = await _phase(meter, seconds)
        phases: dict[str, dict[str, Any]] = {}
        for mode in ("keyframes", "all"):
            taps = [
                AnalysisTap(receiver, CameraWatch(CheckLimits(), detector), executor, mode=mode)
                for receiver in video_in
            ]
            for tap in taps:
                tap.start()
            await asyncio.sleep(2.0)  # keyframe requests answered, pipeline warm
            clocks, wall = await _phase(meter, seconds)
            for tap in taps:
                tap.stop()
            await asyncio.sleep(1.5)  # back to the publisher's own keyframe rhythm
            analysis_s = clocks.worker + clocks.sinks
            phases[mode] = {
                "analysis_cpu_pct_per_call": _pct(analysis_s / calls, wall),
                "forwarding_cpu_pct": _pct(clocks.forwarding, wall),
                "worker_cpu_pct_per_call": _pct(clocks.worker / calls, wall),
                "sink_cpu_pct_per_call": _pct(clocks.sinks / calls, wall),
                "decoded_per_s_per_call": round(clocks.decoded / wall / calls, 2),
                "analysed_per_s_per_call": round(clocks.analysed / wall / calls, 2),
                "ms_per_decode_and_check": (
                    round(1000 * clocks.worker / clocks.decoded, 2) if clocks.decoded else None
                ),
                "packets_per_s": round(clocks.packets / wall, 1),
            }
        default = phases["keyframes"]
        return {
            "analysis_cpu_pct_per_call": default["analysis_cpu_pct_per_call"],
            "forwarding_cpu_pct_with": default["forwarding_cpu_pct"],
            "forwarding_cpu_pct_without": _pct(without.forwarding, wall_without),
            "packets_per_s_without": round(without.packets / wall_without, 1),
            "calls": calls,
            "camera": f"{width}x{height}@{fps}",
            "modes": phases,
        }
    finally:
        for owner, name, function in originals:
            setattr(owner, name, function)
        for publisher in publishers:
            await publisher.close()
        await asyncio.gather(*(sub.pc.close() for sub in subscribers))
        await server.close()
        executor.shutdown(wait=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--size", default="640x480")
    parser.add_argument("--fps", type=int, default=30)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    result = asyncio.run(main(args.calls, args.seconds, w, h, args.fps))
    print(json.dumps(result["modes"], indent=2))
    first = {
        k: result[k]
        for k in (
            "analysis_cpu_pct_per_call",
            "forwarding_cpu_pct_with",
            "forwarding_cpu_pct_without",
        )
    }
    print(json.dumps({**first, **{k: v for k, v in result.items() if k not in first}}))
