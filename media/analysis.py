"""The analysis tap: a publisher's camera, decoded now and then, off the forwarding path.

An `AnalysisTap` is a packet sink on one publisher's video receiver (`media.parts.Publisher`;
packets exist on the fast path only). On the event loop it only collects RTP payloads into
whole VP8 frames (`Vp8FrameAssembler`, a few list
operations per packet). It asks the publisher for a keyframe every `keyframe_interval_s`
(through the receiver's PLI throttle) and hands at most `max_fps` complete *keyframes* a second
to a worker thread, which decodes each on its own (a keyframe needs no decoder state) and runs
the camera checks. While the worker is busy, new keyframes are dropped, never queued: like
MediaRelay's "latest frame" consumer, analysis may fall behind but cannot stall forwarding.

Decoding only keyframes was measured against decoding every frame (bench/analysis.py): at
320x240 15 fps it costs less server CPU (one decode a second instead of fifteen), the price is
a keyframe a second on the publisher's uplink (a few kB) and in every subscriber's stream.
`mode="all"` keeps the other strategy for that comparison.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
import numpy.typing as npt

from media.aiortc_internals import RtpPacket
from media.camera_checks import CameraWatch, Hint, Observation
from media.parts import Publisher
from media.vp8 import is_keyframe_start, payload_descriptor_length

logger = logging.getLogger(__name__)

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32
# Frames whose packets are still incomplete after this many newer frames are given up.
_PENDING_FRAMES = 4


@dataclass(frozen=True)
class EncodedFrame:
    """One whole VP8 frame as the publisher encoded it (payload descriptors removed)."""

    data: bytes
    timestamp: int  # RTP, 90 kHz
    keyframe: bool
    received_at: float  # time.monotonic() of its last packet


class Vp8FrameAssembler:
    """Collects VP8 RTP packets into whole frames: same timestamp, S bit to marker, no holes.

    Duplicates (retransmissions that also arrived the first time) are ignored; a frame whose
    holes are never filled is dropped once `_PENDING_FRAMES` newer frames are pending.
    """

    def __init__(self, on_frame: Callable[[EncodedFrame], None]) -> None:
        self._on_frame = on_frame
        self._pending: dict[int, dict[int, RtpPacket]] = {}
        self._last_emitted: int | None = None
        self.frames = 0

    def push(self, packet: RtpPacket, now: float) -> None:
        ts = packet.timestamp
        if self._last_emitted is not None and not _newer(ts, self._last_emitted, _TS_MOD):
            return  # a late packet of a frame already emitted (or older)
        packets = self._pending.get(ts)
        if packets is None:
            packets = self._pending[ts] = {}
            if len(self._pending) > _PENDING_FRAMES:
                oldest = min(self._pending, key=lambda t: (t - ts) % _TS_MOD)
                del self._pending[oldest]
        packets.setdefault(packet.sequence_number, packet)
        frame = self._complete(packets, now)
        if frame is None:
            return
        del self._pending[ts]
        for stale in [t for t in self._pending if not _newer(t, ts, _TS_MOD)]:
            del self._pending[stale]
        self._last_emitted = ts
        self.frames += 1
        self._on_frame(frame)

    def _complete(self, packets: dict[int, RtpPacket], now: float) -> EncodedFrame | None:
        first = next((p for p in packets.values() if _starts_frame(p.payload)), None)
        last = next((p for p in packets.values() if p.marker), None)
        if first is None or last is None:
            return None
        count = (last.sequence_number - first.sequence_number) % _SEQ_MOD + 1
        if count != len(packets) or count > 1000:
            return None
        parts = []
        for n in range(count):
            packet = packets.get((first.sequence_number + n) % _SEQ_MOD)
            if packet is None:
                return None
            offset = payload_descriptor_length(packet.payload)
            if offset is None:
                return None
            parts.append(packet.payload[offset:])
        return EncodedFrame(
            data=b"".join(parts),
            timestamp=first.timestamp,
            keyframe=is_keyframe_start(first.payload),
            received_at=now,
        )


def _starts_frame(payload: bytes) -> bool:
    # S=1 and partition id 0: the first packet of a frame.
    return bool(payload) and bool(payload[0] & 0x10) and not payload[0] & 0x0F


def _newer(a: int, b: int, modulus: int) -> bool:
    """a comes after b in wrapping RTP arithmetic."""
    return a != b and (a - b) % modulus < modulus // 2


Gray = npt.NDArray[np.uint8]


class AnalysisTap:
    """Decodes one publisher's keyframes in a worker and keeps a `CameraWatch` on them."""

    def __init__(
        self,
        receiver: Publisher,
        watch: CameraWatch,
        executor: Executor,
        *,
        on_hint: Callable[[Hint | None], None] | None = None,
        max_fps: float = 2.0,
        keyframe_interval_s: float = 1.0,
        mode: Literal["keyframes", "all"] = "keyframes",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.receiver = receiver
        self.watch = watch
        self._executor = executor
        self._on_hint = on_hint
        self._min_gap = 1.0 / max_fps
        self._keyframe_interval = keyframe_interval_s
        self._mode = mode
        self._clock = clock
        self._assembler = Vp8FrameAssembler(self._on_frame)
        self._decoder: av.video.codeccontext.VideoCodecContext | None = None
        self._busy = False
        self._queued = 0
        self._waiting_keyframe = True
        self._last_analysed_at = -1e9
        self._last_keyframe_at = -1e9
        self._task: asyncio.Task[None] | None = None
        self._hint: Hint | None = None
        self.frames_decoded = 0
        self.frames_analysed = 0
        self.frames_dropped = 0
        self.last_observation: Observation | None = None

    @property
    def hint(self) -> Hint | None:
        return self._hint

    def start(self) -> None:
        self.receiver.add_packet_sink(self._on_packet)
        self._task = asyncio.ensure_future(self._ask_for_keyframes())

    def stop(self) -> None:
        self.receiver.remove_packet_sink(self._on_packet)
        if self._task is not None:
            self._task.cancel()
            self._task = None

    # -- event loop side: must stay cheap ----------------------------------------------------

    def _on_packet(self, packet: RtpPacket) -> None:
        try:
            self._assembler.push(packet, self._clock())
        except Exception:
            # Analysis must never break the publisher's forwarding, whatever arrives.
            logger.exception("analysis tap failed on a packet")

    def _on_frame(self, frame: EncodedFrame) -> None:
        now = frame.received_at
        if frame.keyframe:
            self._last_keyframe_at = now
        if self._mode == "keyframes":
            if not frame.keyframe or self._busy or now - self._last_analysed_at < self._min_gap:
                if frame.keyframe:
                    self.frames_dropped += 1
                return
            self._last_analysed_at = now
            self._submit(frame, analyse=True)
            return
        # mode "all": every frame is decoded in order; a dropped one breaks the chain until
        # the next keyframe.
        if self._waiting_keyframe and not frame.keyframe:
            return
        if self._queued >= 8:
            self.frames_dropped += 1
            self._waiting_keyframe = True
            self.receiver.request_keyframe()
            return
        self._waiting_keyframe = False
        analyse = now - self._last_analysed_at >= self._min_gap
        if analyse:
            self._last_analysed_at = now
        self._submit(frame, analyse=analyse)

    def _submit(self, frame: EncodedFrame, *, analyse: bool) -> None:
        self._busy = True
        self._queued += 1
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self._decode_and_check, frame, analyse
        )
        future.add_done_callback(self._done)

    def _done(self, future: asyncio.Future[Observation | None]) -> None:
        self._queued -= 1
        self._busy = self._queued > 0
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            logger.warning("camera analysis failed: %s", error)
            return
        observation = future.result()
        if observation is None:
            return
        self.last_observation = observation
        hint = self.watch.hint
        if hint != self._hint:
            self._hint = hint
            if self._on_hint is not None:
                self._on_hint(hint)

    async def _ask_for_keyframes(self) -> None:
        while True:
            await asyncio.sleep(self._keyframe_interval / 4)
            if self._mode == "keyframes" and (
                self._clock() - self._last_keyframe_at >= self._keyframe_interval
            ):
                self.receiver.request_keyframe()

    # -- worker thread -----------------------------------------------------------------------

    def _decode_and_check(self, frame: EncodedFrame, analyse: bool) -> Observation | None:
        if self._decoder is None:
            # Skipped delta frames do not matter: a VP8 keyframe resets the decoder's state.
            decoder = av.CodecContext.create("vp8", "r")
            assert isinstance(decoder, av.video.codeccontext.VideoCodecContext)
            self._decoder = decoder
        images = self._decoder.decode(av.Packet(frame.data))
        self.frames_decoded += len(images)
        if not analyse or not images:
            return None
        gray: Gray = np.asarray(images[-1].to_ndarray(format="gray"), dtype=np.uint8)
        self.frames_analysed += 1
        return self.watch.observe(gray, frame.received_at)
