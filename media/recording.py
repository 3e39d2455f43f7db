"""Recording a call: the forwarded packets muxed into WebM, sealed with AES-GCM at rest.

Nothing is decoded or encoded: a `CallRecorder` is a packet sink on the client's video and
audio receivers (and the nurse's audio), reassembles VP8 frames (`media.analysis`) and takes
Opus packets as they are, and a writer thread muxes them with PyAV into a WebM file. Muxing
starts at a keyframe (the recorder asks for one). On stop the file is sealed (`seal_file`) and
the plaintext removed, so only ciphertext is ever left on disk once a recording is listed.

Sealed format (all integers big-endian): b"HOIVAREC1", u32 chunk size, 8-byte random nonce
prefix, then chunks: u32 ciphertext length + AES-256-GCM(ciphertext || tag). Chunk n's nonce is
prefix || u32 n; its associated data is the header, n and a last-chunk flag, so chunks cannot be
reordered, dropped or the file cut short without `open_sealed` failing.
"""

from __future__ import annotations

import fractions
import logging
import os
import queue
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from media.aiortc_internals import RtpPacket
from media.analysis import EncodedFrame, Vp8FrameAssembler
from media.errors import MediaError
from media.parts import Publisher

logger = logging.getLogger(__name__)

_MAGIC = b"HOIVAREC1"
_CHUNK = 1 << 20
_VIDEO_TB = fractions.Fraction(1, 90_000)
_AUDIO_TB = fractions.Fraction(1, 48_000)
# Encoded frames waiting for the writer; past this the recorder drops to the next keyframe.
_MAX_BACKLOG = 3000


class SealedFileError(MediaError):
    """A sealed file is damaged, truncated or was sealed with another key."""


def seal_file(source: Path, target: Path, key: bytes) -> int:
    """Encrypt `source` into `target` (chunked AES-256-GCM); returns the sealed size."""
    aead = AESGCM(key)
    prefix = os.urandom(8)
    header = _MAGIC + struct.pack(">I", _CHUNK) + prefix
    size = source.stat().st_size
    chunks = max(1, -(-size // _CHUNK))
    with source.open("rb") as plain, target.open("wb") as sealed:
        sealed.write(header)
        for index in range(chunks):
            data = plain.read(_CHUNK)
            nonce = prefix + struct.pack(">I", index)
            aad = header + struct.pack(">IB", index, index == chunks - 1)
            box = aead.encrypt(nonce, data, aad)
            sealed.write(struct.pack(">I", len(box)) + box)
        sealed.flush()
        os.fsync(sealed.fileno())
    return target.stat().st_size


def unseal_chunks(path: Path, key: bytes) -> Iterator[bytes]:
    """Decrypt a sealed file chunk by chunk; SealedFileError if anything is wrong."""
    aead = AESGCM(key)
    with path.open("rb") as sealed:
        header = sealed.read(len(_MAGIC) + 12)
        if len(header) != len(_MAGIC) + 12 or not header.startswith(_MAGIC):
            raise SealedFileError(f"{path.name} is not a sealed recording")
        prefix = header[-8:]
        index = 0
        pending = _read_box(sealed)
        if pending is None:
            raise SealedFileError(f"{path.name} is empty")
        while pending is not None:
            following = _read_box(sealed)
            nonce = prefix + struct.pack(">I", index)
            aad = header + struct.pack(">IB", index, following is None)
            try:
                yield aead.decrypt(nonce, pending, aad)
            except InvalidTag:
                raise SealedFileError(f"{path.name}: wrong key or damaged file") from None
            pending = following
            index += 1


def open_sealed(path: Path, key: bytes) -> bytes:
    """The whole plaintext of a sealed file (recordings are minutes long: megabytes)."""
    return b"".join(unseal_chunks(path, key))


def _read_box(stream: object) -> bytes | None:
    read = stream.read  # type: ignore[attr-defined]
    length = read(4)
    if not length:
        return None
    if len(length) != 4:
        raise SealedFileError("truncated sealed file")
    (size,) = struct.unpack(">I", length)
    box: bytes = read(size)
    if len(box) != size:
        raise SealedFileError("truncated sealed file")
    return box


@dataclass(frozen=True)
class RecordingResult:
    path: Path  # the plaintext WebM (sealed by the caller, then removed)
    video_frames: int
    audio_packets: int
    duration_s: float


@dataclass(frozen=True)
class _Item:
    kind: str  # "video" | "audio"
    track: int
    data: bytes
    timestamp: int
    arrived: float
    keyframe: bool = False


class CallRecorder:
    """Muxes one publisher's video and any number of audio streams into a WebM file."""

    def __init__(
        self,
        path: Path,
        video: Publisher | None,
        audio: list[Publisher],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._video = video
        self._audio = audio
        self._clock = clock
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._backlog = 0
        self._lock = threading.Lock()
        self._waiting_keyframe = True
        self._assembler = Vp8FrameAssembler(self._on_frame)
        self._audio_sinks: list[tuple[Publisher, Callable[[RtpPacket], None]]] = []
        self._thread = threading.Thread(target=self._write, name="hoiva-recorder", daemon=True)
        self._result: RecordingResult | None = None
        self._error: BaseException | None = None
        self._end_seen = False
        self._started_at = 0.0
        self.dropped = 0

    def start(self) -> None:
        self._started_at = self._clock()
        self._thread.start()
        if self._video is not None:
            self._video.add_packet_sink(self._on_video_packet)
            self._video.request_keyframe()
        for index, receiver in enumerate(self._audio):

            def sink(packet: RtpPacket, track: int = index) -> None:
                self._on_audio_packet(track, packet)

            receiver.add_packet_sink(sink)
            self._audio_sinks.append((receiver, sink))

    def stop(self) -> RecordingResult:
        """Detach and finish the file (blocking: call it from a worker thread)."""
        self.detach()
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise MediaError(f"recording failed: {self._error}") from self._error
        assert self._result is not None
        return self._result

    def detach(self) -> None:
        """Stop taking packets (on the event loop); `stop` finishes the file."""
        if self._video is not None:
            self._video.remove_packet_sink(self._on_video_packet)
        for receiver, sink in self._audio_sinks:
            receiver.remove_packet_sink(sink)
        self._audio_sinks.clear()

    # -- event loop side --------------------------------------------------------------------

    def _on_video_packet(self, packet: RtpPacket) -> None:
        try:
            self._assembler.push(packet, self._clock())
        except Exception:
            logger.exception("recorder failed on a video packet")

    def _on_frame(self, frame: EncodedFrame) -> None:
        if self._waiting_keyframe and not frame.keyframe:
            return
        self._waiting_keyframe = False
        self._put(_Item("video", 0, frame.data, frame.timestamp, frame.received_at, frame.keyframe))

    def _on_audio_packet(self, track: int, packet: RtpPacket) -> None:
        if packet.payload:
            self._put(_Item("audio", track, packet.payload, packet.timestamp, self._clock()))

    def _put(self, item: _Item) -> None:
        with self._lock:
            if self._backlog >= _MAX_BACKLOG:
                # The disk cannot keep up: lose a stretch rather than memory or forwarding.
                self.dropped += 1
                if item.kind == "video":
                    self._waiting_keyframe = True
                    if self._video is not None:
                        self._video.request_keyframe()
                return
            self._backlog += 1
        self._queue.put(item)

    # -- writer thread ----------------------------------------------------------------------

    def _write(self) -> None:
        try:
            self._result = self._mux()
        except BaseException as exc:  # reported by stop()
            self._error = exc
            # Drop what still arrives until stop()'s end marker, so that a failed file does
            # not hold packets in memory; unless the failure came after the marker (nothing
            # was recorded, or the container failed to close): waiting for a second marker
            # would block stop(), and with it the shutdown of the event loop, for ever.
            if not self._end_seen:
                while self._queue.get() is not None:
                    pass

    def _mux(self) -> RecordingResult:
        container: av.container.OutputContainer | None = None
        video_stream = None
        audio_streams: dict[int, av.audio.stream.AudioStream] = {}
        origins: dict[tuple[str, int], tuple[int, float]] = {}
        pending: list[_Item] = []
        video_frames = audio_packets = 0
        last_video_pts = first_video_pts = -1
        last_audio_pts: dict[int, int] = {}
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    self._end_seen = True
                    break
                with self._lock:
                    self._backlog -= 1
                if container is None:
                    # The header needs the picture size, which the first keyframe states.
                    if item.kind == "video" and item.keyframe:
                        width, height = _vp8_size(item.data)
                        container = av.open(str(self.path), "w", format="webm")
                        video_stream = container.add_stream("libvpx", rate=30)
                        video_stream.width, video_stream.height = width, height
                        video_stream.pix_fmt = "yuv420p"
                        video_stream.time_base = _VIDEO_TB
                        for track in range(len(self._audio)):
                            stream = container.add_stream("libopus", rate=48_000)
                            stream.time_base = _AUDIO_TB
                            audio_streams[track] = stream
                    elif self._video is not None:
                        pending.append(item)
                        continue
                    else:
                        container = av.open(str(self.path), "w", format="webm")
                        for track in range(len(self._audio)):
                            stream = container.add_stream("libopus", rate=48_000)
                            stream.time_base = _AUDIO_TB
                            audio_streams[track] = stream
                for current in [*pending, item]:
                    pts = self._pts(current, origins)
                    if pts < 0:
                        continue
                    if current.kind == "video":
                        if pts <= last_video_pts:
                            continue
                        if first_video_pts < 0:
                            first_video_pts = pts
                        last_video_pts = pts
                        stream_for: av.stream.Stream | None = video_stream
                        time_base = _VIDEO_TB
                        video_frames += 1
                    else:
                        if pts <= last_audio_pts.get(current.track, -1):
                            continue
                        last_audio_pts[current.track] = pts
                        stream_for = audio_streams.get(current.track)
                        time_base = _AUDIO_TB
                        audio_packets += 1
                    if stream_for is None:
                        continue
                    packet = av.Packet(current.data)
                    packet.stream = stream_for
                    packet.pts = packet.dts = pts
                    packet.time_base = time_base
                    packet.is_keyframe = current.keyframe or current.kind == "audio"
                    container.mux(packet)
                pending.clear()
        finally:
            if container is not None:
                container.close()
        if container is None:
            raise MediaError("nothing was recorded (no keyframe arrived)")
        duration = max(last_video_pts - first_video_pts, 0) / 90_000
        return RecordingResult(self.path, video_frames, audio_packets, duration)

    def _pts(self, item: _Item, origins: dict[tuple[str, int], tuple[int, float]]) -> int:
        """RTP timestamps rebased on arrival, so that every stream shares one time line."""
        rate = 90_000 if item.kind == "video" else 48_000
        key = (item.kind, item.track)
        origin = origins.get(key)
        if origin is None:
            origin = origins[key] = (item.timestamp, item.arrived - self._started_at)
        first_ts, offset_s = origin
        ticks = (item.timestamp - first_ts) % (1 << 32)
        if ticks >= 1 << 31:
            return -1  # older than the stream's first packet
        return round(offset_s * rate) + ticks


def _vp8_size(keyframe: bytes) -> tuple[int, int]:
    """Width and height from a VP8 keyframe header (RFC 6386 9.1)."""
    if len(keyframe) < 10:
        raise MediaError("truncated VP8 keyframe")
    width = int.from_bytes(keyframe[6:8], "little") & 0x3FFF
    height = int.from_bytes(keyframe[8:10], "little") & 0x3FFF
    return width, height
