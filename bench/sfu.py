"""SFU benchmark: server CPU per forwarded stream and delivered frame rate, Hoiva vs others.

Rooms of N synthetic publishers plus a host who also publishes (P = N + 1 participants, each
subscribing to every other: P * (P - 1) forwarded video streams), N = 2, 4, 8, 12, forwarded
by three servers measured in the same run, each in a process of its own:

- "hoiva": Hoiva's `MediaServer` (packet-level forwarding), one room, in
  `python -m bench.sfu --serve hoiva`, driven over its stdin/stdout with JSON lines (connect /
  accept_answer / disconnect; the room's renegotiation offers come back the same way).  One
  peer connection per participant, as Hoiva's clients have.
- "mediarelay": an aiortc server (`--serve mediarelay`) that sends each publisher's track to
  every other participant through `MediaRelay().subscribe(track, buffered=False)`: decode
  once, encode per subscriber.  A publish and a subscribe connection per participant.  It
  saturates early: rooms above `--relay-max-n` are not run, nor any after a room whose slowest
  subscriber got < 1 fps; those are reported as collapsed.
- "janus": Debian's Janus 1.1.2 VideoRoom, started as our own process on 127.0.0.1 only
  (bench/janus: private config, LD_PRELOAD loopback shim), driven over its HTTP API:
  publishers `join` + `configure` with an aiortc offer; subscribers `join` with one
  multistream subscription to all other feeds and answer Janus's offer.  Skipped, with a
  message, where the janus binary is absent.

Server CPU.  utime + stime of the server process (all its threads: MediaRelay's codec threads,
Janus's loops) from /proc/<pid>/stat, at the start and end of a window of steady streaming
after a warm-up: cpu_per_stream_pct = 100 * CPU seconds / (streams * seconds), and per
delivered stream-second (delivered frames / 15), which is the fair unit for a server that
cannot keep up.  The server is pinned to CPU 0 and the peers (this process) to CPU 1, so "on
one core" means what it says and the peers cannot take the server's core; other work on the
machine still can, so compare ratios within one run.  Each room is measured `--rounds` times
(default 2), the paths in A B B A order so that a drift in the machine's load favours none;
a room reports the median of its rounds' CPU figures (`rounds` lists them) and the worst of
their frame rates.  UDP datagrams the kernel dropped for a full receive buffer are counted
per side (/proc/net/udp), as are the frames each publisher sent: a room whose peers fell
behind is flagged `peers_starved` and measured again (`--attempts`), since its frame rates
say little about the server.

Cheap peers, so that they do not starve the server.  Publishers send one shared pre-encoded
clip (the synthetic test pattern with its frame marks plus a strip of noise: VP8 640x480,
15 fps, ~1.5 Mbps CBR with aiortc's encoder settings, encoded once with PyAV) as `av.Packet`s,
so aiortc's sender only packetizes; a keyframe request reaching a publisher (PLI/FIR) restarts
the clip at its first frame, a keyframe.  Subscribers never decode: their receivers are
Hoiva's `ForwardingReceiver` (aiortc's receive path with receiver reports and NACKs, no jitter
buffer, no decoder) minus aiortc's receive-side bandwidth estimator (the costliest part, and
under load it sends a REMB per packet), sending instead a fixed 1.5 Mbps REMB once a second.
A stream's delivered frame rate is the number of packets with a newer RTP timestamp over the
window; min_subscriber_fps is the minimum over all expected streams (one that never arrived
counts as 0).  Peer sockets get 4 MB receive buffers; servers keep the kernel default, as
deployed (`--server-rcvbuf` tries otherwise for the Python servers).

Late joiner (Hoiva, in the N = `--late-join-n` room after its window): a receive-only peer
joins the running room; from creating its offer to its first keyframe complete and decoded
(it reassembles and decodes that one frame, as a browser renders a complete frame), with the
phases (answer received, connected, first packet).  Also, for comparison, the same join with
`media.client_peer.ClientPeer`, whose aiortc jitter buffer holds a frame until the next one
starts (+1 frame interval, 67 ms at 15 fps).

Prints progress and each room on stderr, and one JSON object as its last stdout line.
Run: .venv/bin/python -m bench.sfu [--sizes 2 4 8 12] [--paths hoiva mediarelay janus]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import fractions
import hashlib
import itertools
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci

from bench.janus.runner import (
    JanusError,
    JanusInstall,
    JanusProcess,
    VideoRoomClient,
    VideoRoomError,
    child_command,
    find_janus,
    start_janus,
)
from media import MediaServer, MediaSettings
from media.client_peer import ClientPeer
from media.events import MediaEvent
from media.forwarding import ForwardingReceiver
from media.ice import to_rtc_configuration, use_host_addresses
from media.synthetic import SyntheticVideoTrack
from media.vp8 import is_keyframe_start, payload_descriptor_length

logger = logging.getLogger("bench.sfu")

WIDTH, HEIGHT, FPS = 640, 480, 15
BITRATE = 1_500_000
CLIP_FRAMES = 90  # 6 s: the loop point is a keyframe
NOISE_ROWS = 40  # a strip of fresh noise per frame lifts the easy test pattern to ~1.5 Mbps
VIDEO_CLOCK_RATE = 90_000

SERVER_CPU, PEERS_CPU = 0, 1
# The peers' UDP receive buffers: big enough to ride out a second of scheduling stall, so that
# packets are lost at the server or not at all (the kernel's default is ~200 KB, ~90 packets).
PEER_RECEIVE_BUFFER = 4 * 1024 * 1024
PIPE_LIMIT = 16 * 1024 * 1024  # renegotiation offers with dozens of m-sections are long lines
REQUEST_TIMEOUT = 30.0
LATE_JOIN_TIMEOUT = 10.0
SERVER_START_TIMEOUT = 20.0
REPO_ROOT = Path(__file__).resolve().parents[1]

TARGETS = {
    "hoiva_cpu_per_stream_vs_janus_max": 1.5,
    "hoiva_cpu_per_stream_vs_mediarelay_max": 1 / 20,
    "twelve_home_room_min_fps": 14.0,
    "late_joiner_first_frame_median_ms_max": 200.0,
}


# -- publishers: a pre-encoded clip -------------------------------------------------------


def encode_clip(frames: int = CLIP_FRAMES) -> list[bytes]:
    """VP8 frames of the synthetic pattern at ~BITRATE CBR; the first one is the keyframe."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.bit_rate = BITRATE
    codec.framerate = fractions.Fraction(FPS, 1)
    codec.time_base = fractions.Fraction(1, FPS)
    codec.gop_size = 1_000_000  # keyframes only where asked for (clip start)
    codec.qmin, codec.qmax = 2, 56
    # aiortc's own VP8 encoder settings (aiortc.codecs.vpx), at our bitrate.
    codec.options = {
        "bufsize": str(BITRATE),
        "cpu-used": "-6",
        "deadline": "realtime",
        "lag-in-frames": "0",
        "minrate": str(BITRATE),
        "maxrate": str(BITRATE),
        "overshoot-pct": "15",
        "undershoot-pct": "100",
        "partitions": "0",
        "static-thresh": "1",
    }
    pattern = SyntheticVideoTrack(1, fps=FPS, width=WIDTH, height=HEIGHT)
    noise = np.random.default_rng(1)
    encoded: list[bytes] = []
    for index in range(frames):
        yuv = pattern._draw(index)
        yuv[HEIGHT - NOISE_ROWS : HEIGHT] = noise.integers(0, 256, (NOISE_ROWS, WIDTH), np.uint8)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        frame.pts = index
        frame.time_base = codec.time_base
        encoded.extend(bytes(packet) for packet in codec.encode(frame))
    encoded.extend(bytes(packet) for packet in codec.encode(None))
    return encoded


class ClipTrack(MediaStreamTrack):
    """Sends the clip as `av.Packet`s at FPS, looping; a keyframe request restarts it."""

    kind = "video"

    def __init__(self, clip: Sequence[bytes]) -> None:
        super().__init__()
        self._clip = clip
        self._index = 0
        self._slot = 0  # capture slot of the frame being sent: time since start * FPS
        self._start: float | None = None
        self._restart = False
        self.frames_sent = 0
        self.keyframe_requests = 0

    def request_keyframe(self) -> None:
        self._restart = True
        self.keyframe_requests += 1

    async def recv(self) -> av.Packet[Any]:
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        else:
            self._slot += 1
            due = self._start + self._slot / FPS
            if due > now:
                await asyncio.sleep(due - now)
            elif now - due > 1 / FPS:
                # More than a frame late (this process starved): skip the missed frames, as a
                # camera does, instead of sending them in a burst.
                self._slot = int((now - self._start) * FPS)
        if self._restart:
            self._restart = False
            self._index = 0
        packet = av.Packet(self._clip[self._index])
        packet.pts = self._slot * (VIDEO_CLOCK_RATE // FPS)
        packet.time_base = fractions.Fraction(1, VIDEO_CLOCK_RATE)
        self._index = (self._index + 1) % len(self._clip)
        self.frames_sent += 1
        return packet


# -- subscribers: receive, report, count frames; never decode ---------------------------


class CountingReceiver(ForwardingReceiver):
    """Hoiva's non-decoding receiver (reports and NACKs kept) that counts video frames.

    aiortc's receive-side bandwidth estimator costs more than everything else a packet does
    here, and under load it sends a REMB per packet; a subscriber instead reports a fixed
    REMB of BITRATE once a second (what MediaRelay's encoders ramp up to; Hoiva and Janus do
    not pass subscriber REMB on).  With `decode_first_frame` set (the late joiner) it also
    decodes its first keyframe as soon as the frame is complete, as a browser would.
    """

    REMB_INTERVAL_MS = 1000

    def __init__(self, kind: str, transport: Any) -> None:
        super().__init__(kind, transport)
        self._RTCRtpReceiver__remote_bitrate_estimator = None
        self.frames = 0
        self.decode_first_frame = False
        self.first_packet_at: float | None = None
        self.first_decoded_at: float | None = None
        self.decoded: asyncio.Event | None = None
        self._last_timestamp: int | None = None
        self._last_remb_ms: int | None = None
        self._keyframe: FirstKeyframe | None = None

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        received = self.packets_received
        await super()._handle_rtp_packet(packet, arrival_time_ms)
        if self.packets_received == received or self.media_kind != "video":
            return
        # A newer timestamp starts a frame; retransmissions and reordering carry older ones.
        last = self._last_timestamp
        if last is None or 0 < (packet.timestamp - last) % (1 << 32) < (1 << 31):
            self._last_timestamp = packet.timestamp
            self.frames += 1
        if self.decode_first_frame and self.first_decoded_at is None:
            if self.first_packet_at is None:
                self.first_packet_at = time.monotonic()
            self._add_to_first_keyframe(packet)
        rtcp_ssrc = self._RTCRtpReceiver__rtcp_ssrc
        if rtcp_ssrc is not None and (
            self._last_remb_ms is None
            or arrival_time_ms - self._last_remb_ms >= self.REMB_INTERVAL_MS
        ):
            self._last_remb_ms = arrival_time_ms
            remb = pack_remb_fci(BITRATE, [self.media_ssrc or packet.ssrc])
            await self._send_rtcp(
                RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=rtcp_ssrc, media_ssrc=0, fci=remb)
            )

    def _add_to_first_keyframe(self, packet: RtpPacket) -> None:
        sequence_number, payload = packet.sequence_number, packet.payload
        if packet.ssrc in self._RTCRtpReceiver__rtx_ssrc:  # a retransmission: unwrap it
            sequence_number, payload = int.from_bytes(payload[:2], "big"), payload[2:]
        if self._keyframe is None:
            if not is_keyframe_start(payload):
                return
            self._keyframe = FirstKeyframe(packet.timestamp, sequence_number)
        if self._keyframe.add(packet.timestamp, sequence_number, payload, packet.marker):
            self.first_decoded_at = time.monotonic()
            if self.decoded is not None:
                self.decoded.set()


class FirstKeyframe:
    """Collects one keyframe's packets and decodes it once every packet is there."""

    def __init__(self, timestamp: int, first_sequence_number: int) -> None:
        self.timestamp = timestamp
        self.first = first_sequence_number
        self.last: int | None = None
        self.payloads: dict[int, bytes] = {}

    def add(self, timestamp: int, sequence_number: int, payload: bytes, marker: int) -> bool:
        """Add a packet; True once the frame is complete and decodes to a picture."""
        if timestamp != self.timestamp:
            return False
        self.payloads[sequence_number] = payload
        if marker:
            self.last = sequence_number
        if self.last is None:
            return False
        count = (self.last - self.first) % (1 << 16) + 1
        numbers = [(self.first + index) % (1 << 16) for index in range(count)]
        if any(number not in self.payloads for number in numbers):
            return False  # a hole: wait for the retransmission
        data = b"".join(
            self.payloads[n][payload_descriptor_length(self.payloads[n]) or 0 :] for n in numbers
        )
        try:
            return bool(av.CodecContext.create("libvpx", "r").decode(av.Packet(data)))
        except av.FFmpegError:
            return False


class BenchPeerConnection(RTCPeerConnection):
    """An aiortc peer connection whose receivers count instead of decoding."""

    def __init__(self) -> None:
        super().__init__(to_rtc_configuration(()))
        self.first_decoded = asyncio.Event()

    def _RTCPeerConnection__createTransceiver(
        self, direction: str, kind: str, sender_track: MediaStreamTrack | None = None
    ) -> RTCRtpTransceiver:
        # aiortc 1.16.0's single transceiver factory (also used while answering); swap in a
        # counting receiver before anything has started.
        transceiver: RTCRtpTransceiver = super()._RTCPeerConnection__createTransceiver(  # type: ignore[misc]
            direction, kind, sender_track
        )
        receiver = CountingReceiver(kind, transceiver.receiver.transport)
        receiver._set_rtcp_ssrc(transceiver.sender._ssrc)
        transceiver._RTCRtpTransceiver__receiver = receiver  # type: ignore[attr-defined]
        return transceiver

    def video_receivers(self) -> list[CountingReceiver]:
        return [
            t.receiver
            for t in self.getTransceivers()
            if t.kind == "video" and isinstance(t.receiver, CountingReceiver)
        ]

    async def offer_video(self, track: ClipTrack, direction: str) -> str:
        """Offer our clip (VP8 + RTX only); keyframe requests reach the clip."""
        transceiver = self.addTransceiver(track, direction=direction)
        transceiver.setCodecPreferences(vp8_preferences())
        # aiortc calls this on PLI/FIR; its own would flag an encoder that is not used here.
        transceiver.sender._send_keyframe = track.request_keyframe  # type: ignore[method-assign]
        await self.setLocalDescription(await self.createOffer())
        set_receive_buffer(self, PEER_RECEIVE_BUFFER)
        return str(self.localDescription.sdp)

    async def offer_receive_only(self) -> str:
        """Offer to receive video only (a late joiner); it decodes its first keyframe."""
        self.addTransceiver("video", direction="recvonly").setCodecPreferences(vp8_preferences())
        await self.setLocalDescription(await self.createOffer())
        for receiver in self.video_receivers():
            receiver.decode_first_frame = True
            receiver.decoded = self.first_decoded
        set_receive_buffer(self, PEER_RECEIVE_BUFFER)
        return str(self.localDescription.sdp)

    async def answer(self, offer_sdp: str) -> str:
        await self.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.setLocalDescription(await self.createAnswer())
        set_receive_buffer(self, PEER_RECEIVE_BUFFER)
        return str(self.localDescription.sdp)

    async def accept(self, answer_sdp: str) -> None:
        await self.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def wait_connected(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.connectionState != "connected":
            if time.monotonic() > deadline or self.connectionState in ("failed", "closed"):
                raise TimeoutError(f"peer connection {self.connectionState} after {timeout} s")
            await asyncio.sleep(0.02)


def vp8_preferences() -> list[Any]:
    return [
        codec
        for codec in RTCRtpSender.getCapabilities("video").codecs
        if codec.mimeType.lower() in ("video/vp8", "video/rtx")
    ]


@dataclass(eq=False)
class Participant:
    """One synthetic home (or the host): publishes the clip, subscribes to everyone else."""

    pid: str
    track: ClipTrack
    pcs: list[BenchPeerConnection] = field(default_factory=list)

    def new_pc(self) -> BenchPeerConnection:
        pc = BenchPeerConnection()
        self.pcs.append(pc)
        return pc

    def receivers(self) -> list[CountingReceiver]:
        return [r for pc in self.pcs for r in pc.video_receivers() if r.packets_received]

    async def close(self) -> None:
        self.track.stop()
        await asyncio.gather(*(pc.close() for pc in self.pcs), return_exceptions=True)


def transport_sockets(dtls_transport: Any) -> list[socket.socket]:
    """The UDP sockets under one DTLS transport (aiortc 1.16 / aioice 0.13 internals)."""
    connection = getattr(dtls_transport.transport, "_connection", None)
    sockets = []
    for protocol in getattr(connection, "_protocols", ()):
        transport = getattr(protocol, "transport", None)
        sock = transport.get_extra_info("socket") if transport is not None else None
        if sock is not None:
            sockets.append(sock)
    return sockets


def set_receive_buffer(pc_or_transport: Any, size: int) -> None:
    """Ask for `size`-byte UDP receive buffers (the kernel caps it at net.core.rmem_max)."""
    transports: list[Any] = [pc_or_transport]
    if isinstance(pc_or_transport, RTCPeerConnection):
        transports = list(
            {
                id(t.receiver.transport): t.receiver.transport
                for t in pc_or_transport.getTransceivers()
            }.values()
        )
    for transport in transports:
        for sock in transport_sockets(transport):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)


def udp_drops(pid: int) -> int:
    """Datagrams the kernel dropped on the UDP sockets of process `pid` (full receive buffer)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    drops = 0
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    drops += int(fields[-1])
    return drops


# -- the server process (Hoiva's MediaServer or an aiortc MediaRelay server) ---------------

Emit = Callable[[dict[str, Any]], None]


class Backend(Protocol):
    """What the server process runs: one room's worth of forwarding, driven by requests."""

    async def start(self) -> None: ...

    async def handle(self, op: str, message: dict[str, Any]) -> dict[str, Any]: ...

    async def close(self) -> None: ...


class _PipeSignal:
    """MediaSignal that sends renegotiation offers down the pipe; events are not needed."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit

    async def send_offer(self, participant_id: str, sdp: str) -> None:
        self._emit({"event": "offer", "pid": participant_id, "sdp": sdp})

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        return None


class HoivaBackend:
    """One MediaRoom of a MediaServer bound to 127.0.0.1."""

    def __init__(self, emit: Emit, receive_buffer: int | None) -> None:
        self._server = MediaServer(MediaSettings(bind_addresses=("127.0.0.1",)))
        self._signal = _PipeSignal(emit)
        self._receive_buffer = receive_buffer

    async def start(self) -> None:
        await self._server.start()
        self._room = self._server.open_room("bench", self._signal)

    async def handle(self, op: str, message: dict[str, Any]) -> dict[str, Any]:
        match op:
            case "connect":
                answer = await self._room.connect(message["pid"], message["sdp"])
                if self._receive_buffer:
                    receivers, _ = self._room.forwarding_parts(message["pid"])
                    for receiver in receivers[:1]:
                        set_receive_buffer(receiver.transport, self._receive_buffer)
                return {"sdp": answer}
            case "accept_answer":
                await self._room.accept_answer(message["pid"], message["sdp"])
            case "disconnect":
                await self._room.disconnect(message["pid"])
            case _:
                raise ValueError(f"unknown op {op!r}")
        return {}

    async def close(self) -> None:
        await self._server.close()


class RelayBackend:
    """aiortc MediaRelay: decode once per publisher, encode once per subscriber."""

    def __init__(self, receive_buffer: int | None) -> None:
        self._relay = MediaRelay()
        self._receive_buffer = receive_buffer
        self._tracks: dict[str, MediaStreamTrack] = {}
        self._subscribers: dict[str, RTCPeerConnection] = {}
        self._pcs: list[RTCPeerConnection] = []

    async def start(self) -> None:
        return None

    async def handle(self, op: str, message: dict[str, Any]) -> dict[str, Any]:
        pid = message["pid"]
        match op:
            case "publish":
                pc = self._new_pc()
                pc.on("track", lambda track: self._tracks.__setitem__(pid, track))
                await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                if self._receive_buffer:
                    set_receive_buffer(pc, self._receive_buffer)
                return {"sdp": pc.localDescription.sdp}
            case "subscribe":
                pc = self._new_pc()
                for feed in message["feeds"]:
                    track = self._relay.subscribe(self._tracks[feed], buffered=False)
                    pc.addTransceiver(track, direction="sendonly").setCodecPreferences(
                        vp8_preferences()
                    )
                await pc.setLocalDescription(await pc.createOffer())
                self._subscribers[pid] = pc
                return {"sdp": pc.localDescription.sdp}
            case "subscribe_answer":
                await self._subscribers[pid].setRemoteDescription(
                    RTCSessionDescription(message["sdp"], "answer")
                )
                return {}
            case _:
                raise ValueError(f"unknown op {op!r}")

    def _new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(to_rtc_configuration(()))
        self._pcs.append(pc)
        return pc

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in self._pcs), return_exceptions=True)


class LightJoiner:
    """A receive-only joiner that decodes its first keyframe once complete (browser-like)."""

    def __init__(self) -> None:
        self.pc = BenchPeerConnection()

    async def offer(self) -> str:
        return await self.pc.offer_receive_only()

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.accept(answer_sdp)

    async def first_frame(self, timeout: float) -> dict[str, float]:
        """Wait for the first decoded frame: {"connected", "first_packet", "decoded"} times."""
        await self.pc.wait_connected(timeout)
        connected = time.monotonic()
        await asyncio.wait_for(self.pc.first_decoded.wait(), timeout)
        receiver = next(r for r in self.pc.video_receivers() if r.first_decoded_at)
        assert receiver.first_decoded_at is not None and receiver.first_packet_at is not None
        return {
            "connected": connected,
            "first_packet": receiver.first_packet_at,
            "decoded": receiver.first_decoded_at,
        }

    async def close(self) -> None:
        await self.pc.close()


class AiortcJoiner:
    """The same join with media.client_peer.ClientPeer: aiortc's jitter buffer and decoder."""

    def __init__(self) -> None:
        self.peer = ClientPeer(video=None, audio=False, decode_marks=False)

    async def offer(self) -> str:
        return await self.peer.create_offer()

    async def accept(self, answer_sdp: str) -> None:
        await self.peer.accept_answer(answer_sdp)

    async def first_frame(self, timeout: float) -> dict[str, float]:
        await self.peer.wait_for_video_frames(1, timeout=timeout)
        assert self.peer.stats.first_video_frame_at is not None
        return {"decoded": self.peer.stats.first_video_frame_at}

    async def close(self) -> None:
        await self.peer.close()


class JoinerBackend:
    """The late joiners' own process (a joining device is not the busy load generator)."""

    def __init__(self) -> None:
        self._joins: dict[str, tuple[float, LightJoiner | AiortcJoiner]] = {}

    async def start(self) -> None:
        return None

    async def handle(self, op: str, message: dict[str, Any]) -> dict[str, Any]:
        pid = message["pid"]
        match op:
            case "offer":
                started = time.monotonic()
                joiner = AiortcJoiner() if message["kind"] == "aiortc" else LightJoiner()
                self._joins[pid] = (started, joiner)
                return {"sdp": await joiner.offer()}
            case "answer":
                # Offer created -> answer back (via the benchmark and the server), connected,
                # first packet, first decoded frame: ms since this joiner began its offer.
                started, joiner = self._joins[pid]
                times = {"answer": time.monotonic()}
                await joiner.accept(message["sdp"])
                times.update(await joiner.first_frame(LATE_JOIN_TIMEOUT))
                return {"ms": {phase: (at - started) * 1000 for phase, at in times.items()}}
            case "close":
                _, joiner = self._joins.pop(pid)
                await joiner.close()
                return {}
            case _:
                raise ValueError(f"unknown op {op!r}")

    async def close(self) -> None:
        await asyncio.gather(*(j.close() for _, j in self._joins.values()), return_exceptions=True)


async def serve(kind: str, receive_buffer: int | None) -> None:
    """Server-process main: a backend driven by JSON lines on stdin, replies on stdout."""
    use_host_addresses(["127.0.0.1"])
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=PIPE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)

    def emit(message: dict[str, Any]) -> None:
        writer.write(json.dumps(message).encode() + b"\n")

    backend: Backend
    if kind == "hoiva":
        backend = HoivaBackend(emit, receive_buffer)
    elif kind == "mediarelay":
        backend = RelayBackend(receive_buffer)
    else:
        backend = JoinerBackend()
    await backend.start()
    tasks: set[asyncio.Task[None]] = set()

    async def dispatch(message: dict[str, Any]) -> None:
        try:
            reply = await backend.handle(message["op"], message)
            emit({"id": message["id"], **reply})
        except Exception as exc:
            logger.debug("request %s failed", message.get("op"), exc_info=True)
            emit({"id": message["id"], "error": f"{type(exc).__name__}: {exc}"})

    try:
        while line := await reader.readline():
            message = json.loads(line)
            if message["op"] in ("ping", "quit"):
                emit({"id": message["id"]})
                if message["op"] == "quit":
                    break
                continue
            task = asyncio.ensure_future(dispatch(message))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    finally:
        for task in tuple(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await backend.close()
        with contextlib.suppress(ConnectionError):
            await writer.drain()


class ServerLink:
    """The benchmark's end of a child process (a server, or the late joiners' process).

    JSON-line requests and replies over its stdin/stdout, server offers as events; stopped by
    pid on close.
    """

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.on_offer: Callable[[str, str], Awaitable[None]] | None = None
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reader = asyncio.ensure_future(self._read())

    @property
    def pid(self) -> int:
        return self.process.pid

    @classmethod
    async def start(cls, kind: str, cpu: int | None, receive_buffer: int | None) -> ServerLink:
        command = [sys.executable, "-m", "bench.sfu", "--serve", kind]
        if receive_buffer:
            command += ["--server-rcvbuf", str(receive_buffer)]
        process = await asyncio.create_subprocess_exec(
            *child_command(command, cpu),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO_ROOT,
            limit=PIPE_LIMIT,
        )
        link = cls(process)
        try:
            await link.request("ping", timeout=SERVER_START_TIMEOUT)
        except BaseException:
            await link.close()
            raise
        return link

    async def request(
        self, op: str, *, timeout: float = REQUEST_TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        assert self.process.stdin is not None
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            line = json.dumps({"id": request_id, "op": op, **fields}).encode() + b"\n"
            self.process.stdin.write(line)
            await self.process.stdin.drain()
            reply = await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(request_id, None)
        if "error" in reply:
            raise RuntimeError(f"{op} failed in pid {self.pid}: {reply['error']}")
        return reply

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            message = json.loads(line)
            if "id" in message:
                future = self._pending.get(message["id"])
                if future is not None and not future.done():
                    future.set_result(message)
            elif message.get("event") == "offer" and self.on_offer is not None:
                task = asyncio.ensure_future(self.on_offer(message["pid"], message["sdp"]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionError("server process closed its pipe"))

    async def close(self) -> None:
        try:
            if self.process.returncode is None:
                with contextlib.suppress(Exception):
                    await self.request("quit", timeout=10)
                try:
                    await asyncio.wait_for(self.process.wait(), 5)
                except TimeoutError:
                    self.process.terminate()
                    try:
                        await asyncio.wait_for(self.process.wait(), 5)
                    except TimeoutError:
                        self.process.kill()
                        await self.process.wait()
        finally:
            for task in (self._reader, *self._tasks):
                task.cancel()
            await asyncio.gather(self._reader, *self._tasks, return_exceptions=True)


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    # Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the three paths ------------------------------------------------------------------------


class RoomDriver(Protocol):
    """Connects a room's participants through one server and knows that server's pid."""

    server_pid: int

    async def connect_all(self, participants: list[Participant]) -> None: ...

    async def close(self) -> None: ...


class HoivaDriver:
    """Hoiva: one peer connection per participant, server renegotiation over the pipe."""

    def __init__(self, link: ServerLink) -> None:
        self.link = link
        self.server_pid = link.pid
        self.answerers: dict[str, Callable[[str], Awaitable[str]]] = {}
        link.on_offer = self._on_offer

    @classmethod
    async def start(cls, cpu: int | None, receive_buffer: int | None) -> HoivaDriver:
        return cls(await ServerLink.start("hoiva", cpu, receive_buffer))

    async def connect_all(self, participants: list[Participant]) -> None:
        await asyncio.gather(*(self.connect(p) for p in participants))

    async def connect(self, participant: Participant) -> None:
        pc = participant.new_pc()
        self.answerers[participant.pid] = pc.answer
        offer = await pc.offer_video(participant.track, "sendrecv")
        reply = await self.link.request("connect", pid=participant.pid, sdp=offer)
        await pc.accept(reply["sdp"])

    async def _on_offer(self, pid: str, sdp: str) -> None:
        answerer = self.answerers.get(pid)
        if answerer is None:
            return
        try:
            answer = await answerer(sdp)
            await self.link.request("accept_answer", pid=pid, sdp=answer)
        except Exception as exc:
            # A late joiner that has left meanwhile cannot answer; anyone else is a failure.
            level = logging.WARNING if pid in self.answerers else logging.DEBUG
            logger.log(level, "renegotiation for %s failed: %s", pid, exc)

    async def late_join(self, joiners: ServerLink, pid: str, kind: str) -> dict[str, float]:
        """One late join from the joiners' process; phases in ms since its offer began."""
        offer = await joiners.request("offer", pid=pid, kind=kind)
        try:
            reply = await self.link.request("connect", pid=pid, sdp=offer["sdp"])
            result = await joiners.request(
                "answer", pid=pid, sdp=reply["sdp"], timeout=2 * LATE_JOIN_TIMEOUT + 5
            )
            timings: dict[str, float] = result["ms"]
            return timings
        finally:
            with contextlib.suppress(Exception):
                await self.link.request("disconnect", pid=pid)
            with contextlib.suppress(Exception):
                await joiners.request("close", pid=pid)

    async def close(self) -> None:
        await self.link.close()


class RelayDriver:
    """aiortc MediaRelay server: a publish and a subscribe connection per participant."""

    def __init__(self, link: ServerLink) -> None:
        self.link = link
        self.server_pid = link.pid

    @classmethod
    async def start(cls, cpu: int | None, receive_buffer: int | None) -> RelayDriver:
        return cls(await ServerLink.start("mediarelay", cpu, receive_buffer))

    async def connect_all(self, participants: list[Participant]) -> None:
        await asyncio.gather(*(self._publish(p) for p in participants))
        pids = [p.pid for p in participants]
        await asyncio.gather(
            *(self._subscribe(p, [other for other in pids if other != p.pid]) for p in participants)
        )

    async def _publish(self, participant: Participant) -> None:
        pc = participant.new_pc()
        offer = await pc.offer_video(participant.track, "sendonly")
        reply = await self.link.request("publish", pid=participant.pid, sdp=offer)
        await pc.accept(reply["sdp"])

    async def _subscribe(self, participant: Participant, feeds: list[str]) -> None:
        pc = participant.new_pc()
        reply = await self.link.request("subscribe", pid=participant.pid, feeds=feeds)
        answer = await pc.answer(reply["sdp"])
        await self.link.request("subscribe_answer", pid=participant.pid, sdp=answer)

    async def close(self) -> None:
        await self.link.close()


class JanusDriver:
    """Janus VideoRoom over its HTTP API: publisher handle + one multistream subscriber handle."""

    ROOM = 4242
    # Janus refuses a subscription to a publisher whose connection is not up yet (428, "No
    # such feed"), a moment after our side reports it connected.
    NO_SUCH_FEED = 428
    SUBSCRIBE_ATTEMPTS = 50

    def __init__(self, janus: JanusProcess, api: VideoRoomClient) -> None:
        self.janus = janus
        self.api = api
        self.server_pid = janus.pid

    @classmethod
    async def start(cls, install: JanusInstall, cpu: int | None) -> JanusDriver:
        janus = await start_janus(install, cpu=cpu)
        api = VideoRoomClient(janus.url)
        try:
            await api.open()
            await api.request(
                await api.attach(),
                {
                    "request": "create",
                    "room": cls.ROOM,
                    "publishers": 64,
                    "videocodec": "vp8",
                    "bitrate": 0,
                    "fir_freq": 0,
                    "notify_joining": False,
                },
            )
        except BaseException:
            await api.close()
            await janus.stop()
            raise
        return cls(janus, api)

    async def connect_all(self, participants: list[Participant]) -> None:
        feeds = await asyncio.gather(*(self._publish(p) for p in participants))
        await asyncio.gather(
            *(
                self._subscribe(p, [feed for feed in feeds if feed != own])
                for p, own in zip(participants, feeds, strict=True)
            )
        )

    async def _publish(self, participant: Participant) -> int:
        handle = await self.api.attach()
        joined, _ = await self.api.message(
            handle,
            {
                "request": "join",
                "ptype": "publisher",
                "room": self.ROOM,
                "display": participant.pid,
            },
        )
        pc = participant.new_pc()
        offer = await pc.offer_video(participant.track, "sendonly")
        _, jsep = await self.api.message(
            handle,
            {"request": "configure", "audio": False, "video": True},
            {"type": "offer", "sdp": offer, "trickle": False},
        )
        if jsep is None:
            raise JanusError(f"no answer to {participant.pid}'s publish offer")
        await pc.accept(jsep["sdp"])
        await pc.wait_connected(REQUEST_TIMEOUT)
        return int(joined["id"])

    async def _subscribe(self, participant: Participant, feeds: list[int]) -> None:
        handle = await self.api.attach()
        join = {
            "request": "join",
            "ptype": "subscriber",
            "room": self.ROOM,
            "streams": [{"feed": feed} for feed in feeds],
        }
        for attempt in range(self.SUBSCRIBE_ATTEMPTS):
            try:
                _, jsep = await self.api.message(handle, join)
                break
            except VideoRoomError as exc:
                if exc.code != self.NO_SUCH_FEED or attempt == self.SUBSCRIBE_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.1)
        if jsep is None:
            raise JanusError(f"no subscription offer for {participant.pid}")
        pc = participant.new_pc()
        answer = await pc.answer(jsep["sdp"])
        await self.api.message(
            handle, {"request": "start"}, {"type": "answer", "sdp": answer, "trickle": False}
        )

    async def close(self) -> None:
        try:
            await self.api.close()
        finally:
            await self.janus.stop()


# -- measuring a room ------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    seconds: float
    relay_seconds: float
    warmup: float
    setup_timeout: float
    pin: bool
    late_joins: int
    late_join_n: int
    server_receive_buffer: int | None
    attempts: int
    budget: float
    rounds: int = 1


def _code_version() -> dict[str, str]:
    """The commit, and a digest of media/*.py as run (the working tree may differ from it)."""
    digest = hashlib.sha1()
    for source in sorted((REPO_ROOT / "media").glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=10,
    ).stdout.strip()
    return {"commit": commit or "unknown", "media_sources_sha1": digest.hexdigest()[:12]}


def _load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages: how busy the machine was around the run."""
    return [round(value, 2) for value in os.getloadavg()]


def _joins(
    values: Sequence[float], *, failed: int, phases: dict[str, list[float]] | None = None
) -> dict[str, Any] | None:
    if not values:
        return {"joins": 0, "failed": failed} if failed else None
    summary: dict[str, Any] = {**_summary(values), "joins": len(values), "failed": failed}
    if phases:
        summary["phase_medians"] = {
            phase: round(statistics.median(ms), 1) for phase, ms in phases.items() if ms
        }
    return summary


def _summary(values: Sequence[float]) -> dict[str, float]:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"median": round(statistics.median(ordered), 1), "p90": round(p90, 1)}


async def _wait_flowing(participants: list[Participant], timeout: float) -> float:
    """Wait until every participant receives frames from every other; returns seconds waited."""
    expected = len(participants) - 1
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if all(sum(1 for r in p.receivers() if r.frames) >= expected for p in participants):
            break
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def measure_room(
    path: str,
    n: int,
    clip: list[bytes],
    plan: Plan,
    janus: JanusInstall | None,
    *,
    final_attempt: bool = True,
    with_late_joins: bool = True,
) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """One room through one server: the room's figures, and late-joiner samples (Hoiva)."""
    cpu = SERVER_CPU if plan.pin else None
    participants = [
        Participant("host" if index == 0 else f"home-{index}", ClipTrack(clip))
        for index in range(n + 1)
    ]
    streams = len(participants) * (len(participants) - 1)
    window = plan.relay_seconds if path == "mediarelay" else plan.seconds
    result: dict[str, Any] = {"n": n, "path": path, "participants": n + 1, "streams": streams}
    late: dict[str, list[float]] = defaultdict(list)
    driver: RoomDriver
    began = time.monotonic()
    if path == "hoiva":
        driver = await HoivaDriver.start(cpu, plan.server_receive_buffer)
    elif path == "mediarelay":
        driver = await RelayDriver.start(cpu, plan.server_receive_buffer)
    else:
        assert janus is not None
        driver = await JanusDriver.start(janus, cpu)
    try:
        try:
            await asyncio.wait_for(driver.connect_all(participants), plan.setup_timeout)
        except Exception as exc:
            result["setup_error"] = f"{type(exc).__name__}: {exc}"
        # After a failed setup, whatever did connect gets a few seconds, not the full timeout.
        waited = await _wait_flowing(
            participants, 5.0 if "setup_error" in result else plan.setup_timeout
        )
        result["setup_s"] = round(time.monotonic() - began, 1)
        result["flowing_after_s"] = round(waited, 1)
        await asyncio.sleep(plan.warmup)

        before = _snapshot(participants, driver.server_pid)
        await asyncio.sleep(window)
        after = _snapshot(participants, driver.server_pid)
        result.update(_figures(before, after, participants, streams))

        if (
            with_late_joins
            and isinstance(driver, HoivaDriver)
            and n == plan.late_join_n
            and (final_attempt or not result["peers_starved"])
        ):
            await _late_joins(driver, plan.late_joins, late)
    finally:
        await asyncio.gather(*(p.close() for p in participants), return_exceptions=True)
        await driver.close()
    return result, late


async def _late_joins(driver: HoivaDriver, joins: int, late: dict[str, list[float]]) -> None:
    """`joins` late joiners of each kind, one at a time; gives up after three failed joins."""
    # Unpinned: a joining device brings its own CPU, it does not share the peers' core.
    joiners = await ServerLink.start("joiner", None, None)
    failures = 0
    try:
        for index in range(joins):
            for kind in ("light", "aiortc"):
                if failures >= 3:
                    return
                prefix = "" if kind == "light" else "aiortc_"
                try:
                    ms = await driver.late_join(joiners, f"late-{kind}-{index}", kind)
                    for phase, value in ms.items():
                        late[prefix + phase].append(value)
                except Exception as exc:
                    failures += 1
                    late[prefix + "failed"].append(1)
                    logger.warning("late joiner %s %d failed: %r", kind, index, exc)
                # Past the publisher's keyframe-request throttle (300 ms), as a real arrival
                # usually is.
                await asyncio.sleep(0.5)
    finally:
        await joiners.close()


@dataclass
class _Snapshot:
    at: float
    server_cpu: float
    peers_cpu: float
    frames: dict[CountingReceiver, int]
    keyframe_requests: int
    server_drops: int
    peers_drops: int
    frames_sent: dict[str, int]


def _snapshot(participants: list[Participant], server_pid: int) -> _Snapshot:
    return _Snapshot(
        at=time.monotonic(),
        server_cpu=process_cpu_seconds(server_pid),
        peers_cpu=process_cpu_seconds(os.getpid()),
        frames={r: r.frames for p in participants for r in p.receivers()},
        keyframe_requests=sum(p.track.keyframe_requests for p in participants),
        server_drops=udp_drops(server_pid),
        peers_drops=udp_drops(os.getpid()),
        frames_sent={p.pid: p.track.frames_sent for p in participants},
    )


def _figures(
    before: _Snapshot, after: _Snapshot, participants: list[Participant], streams: int
) -> dict[str, Any]:
    seconds = after.at - before.at
    server_cpu = after.server_cpu - before.server_cpu
    fps = [
        (after.frames[r] - before.frames.get(r, 0)) / seconds
        for p in participants
        for r in p.receivers()
        if r in after.frames
    ]
    flowing = sum(1 for value in fps if value > 0)
    fps += [0.0] * (streams - len(fps))  # expected streams that never arrived
    delivered_stream_seconds = sum(fps) * seconds / FPS
    publisher_fps = min(
        (after.frames_sent[pid] - sent) / seconds for pid, sent in before.frames_sent.items()
    )
    # A socket closed during the window takes its count with it: never report less than 0.
    peers_drops = max(0, after.peers_drops - before.peers_drops)
    return {
        "window_s": round(seconds, 1),
        "streams_flowing": flowing,
        "server_core_pct": round(100 * server_cpu / seconds, 1),
        "cpu_per_stream_pct": round(100 * server_cpu / (streams * seconds), 3),
        "cpu_per_delivered_stream_pct": (
            round(100 * server_cpu / delivered_stream_seconds, 3)
            if delivered_stream_seconds
            else None
        ),
        "min_subscriber_fps": round(min(fps), 2),
        "keeps_up": min(fps) >= TARGETS["twelve_home_room_min_fps"],
        "median_subscriber_fps": round(statistics.median(fps), 2),
        "peers_core_pct": round(100 * (after.peers_cpu - before.peers_cpu) / seconds, 1),
        "keyframe_requests_in_window": after.keyframe_requests - before.keyframe_requests,
        "udp_drops_server": max(0, after.server_drops - before.server_drops),
        "udp_drops_peers": peers_drops,
        "min_publisher_fps": round(publisher_fps, 2),
        # The synthetic peers could not keep up (CPU taken by other work on the machine): the
        # frame rates say little about the server then.
        "peers_starved": peers_drops > 0 or publisher_fps < 0.95 * FPS,
    }


# -- the run ----------------------------------------------------------------------------------


def _ratios(rooms: list[dict[str, Any]], other: str, mine: str = "hoiva") -> dict[str, float]:
    """`mine`'s CPU per stream over `other`'s, for each room size measured on both."""
    by_key = {(room["path"], room["n"]): room for room in rooms}
    ratios: dict[str, float] = {}
    for (path, n), room in by_key.items():
        theirs_room = by_key.get((other, n))
        if path != mine or theirs_room is None:
            continue
        # A saturated MediaRelay spends its CPU on fewer frames than it owes: compare per
        # delivered stream-second, which equals per stream-second for a room that keeps up.
        key = "cpu_per_delivered_stream_pct" if other == "mediarelay" else "cpu_per_stream_pct"
        ours, theirs = room.get("cpu_per_stream_pct"), theirs_room.get(key)
        if ours and theirs:
            ratios[str(n)] = round(ours / theirs, 4)
    return ratios


def _targets(rooms: list[dict[str, Any]], late: list[float]) -> dict[str, Any]:
    vs_janus = _ratios(rooms, "janus")
    vs_relay = _ratios(rooms, "mediarelay")
    twelve = next((r for r in rooms if r["path"] == "hoiva" and r["n"] == 12), None)
    twelve_fps = twelve.get("min_subscriber_fps") if twelve else None
    late_median = statistics.median(late) if late else None
    janus_max = TARGETS["hoiva_cpu_per_stream_vs_janus_max"]
    relay_max = TARGETS["hoiva_cpu_per_stream_vs_mediarelay_max"]
    return {
        "wanted": TARGETS,
        "hoiva_vs_janus_cpu_per_stream": vs_janus,
        "hoiva_vs_janus_met": all(v <= janus_max for v in vs_janus.values()) if vs_janus else None,
        "hoiva_vs_mediarelay_cpu_per_stream": vs_relay,
        "hoiva_vs_mediarelay_met": (
            all(v <= relay_max for v in vs_relay.values()) if vs_relay else None
        ),
        # What a C SFU reaches against MediaRelay in the same run, for comparison.
        "janus_vs_mediarelay_cpu_per_stream": _ratios(rooms, "mediarelay", mine="janus"),
        "twelve_home_room_min_fps": twelve_fps,
        "twelve_home_room_met": (
            twelve_fps >= TARGETS["twelve_home_room_min_fps"] if twelve_fps is not None else None
        ),
        "late_joiner_met": (
            late_median <= TARGETS["late_joiner_first_frame_median_ms_max"]
            if late_median is not None
            else None
        ),
    }


def _skipped(n: int, path: str, reason: str) -> dict[str, Any]:
    return {
        "n": n,
        "path": path,
        "skipped": reason,
        "collapsed": path == "mediarelay" and "collapsed" in reason,
        "cpu_per_stream_pct": None,
        "min_subscriber_fps": None,
    }


def _skip_reason(
    path: str,
    n: int,
    rooms: list[dict[str, Any]],
    relay_collapsed_at: int | None,
    relay_max_n: int,
) -> dict[str, Any] | None:
    """The skipped-room entry for a MediaRelay room not worth running, else None."""
    if path != "mediarelay":
        return None
    if relay_collapsed_at is not None:
        return _skipped(n, path, f"collapsed at n={relay_collapsed_at} (< 1 fps)")
    if n > relay_max_n:
        last: dict[str, Any] = next((r for r in reversed(rooms) if r["path"] == path), {})
        fps = last.get("min_subscriber_fps")
        skipped = _skipped(n, path, f"not run past n={relay_max_n} (min {fps} fps there)")
        skipped["collapsed"] = fps is not None and fps < FPS / 2
        return skipped
    return None


# Per-round figures combined by their median; the frame rates by their worst round.
_MEDIAN_FIGURES = ("cpu_per_stream_pct", "cpu_per_delivered_stream_pct", "server_core_pct")
_WORST_FIGURES = ("min_subscriber_fps", "median_subscriber_fps")


def _combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One room's entry from its rounds: the last round's details, the rounds' figures."""
    measured = [r for r in rounds if "skipped" not in r and "error" not in r]
    if len(rounds) == 1 or not measured:
        return rounds[-1]
    room = dict(measured[-1])
    for key in _MEDIAN_FIGURES:
        values = [r[key] for r in measured if r.get(key) is not None]
        if values:
            room[key] = round(statistics.median(values), 3)
    for key in _WORST_FIGURES:
        values = [r[key] for r in measured if r.get(key) is not None]
        if values:
            room[key] = min(values)
    room["keeps_up"] = all(r.get("keeps_up") for r in measured)
    room["rounds"] = [r.get("cpu_per_stream_pct") for r in measured]
    return room


async def run(sizes: list[int], paths: list[str], plan: Plan, relay_max_n: int) -> dict[str, Any]:
    use_host_addresses(["127.0.0.1"])
    try:
        # Read every queued datagram per wake-up, as Hoiva's server does (media/udp_reads.py):
        # a peer receiving a dozen streams on one socket needs it as much as the server.
        from media.udp_reads import install_draining_reads
    except ImportError:
        logger.info("media.udp_reads not available: peers read one datagram per loop turn")
    else:
        install_draining_reads()
    janus = find_janus() if "janus" in paths else None
    notes: list[str] = []
    if "janus" in paths and janus is None:
        message = "janus binary or its videoroom plugin not found: skipping the janus path"
        print(message, file=sys.stderr)
        notes.append(message)
        paths = [p for p in paths if p != "janus"]
    if "janus" in paths and not shutil.which("gcc"):
        message = "gcc not found (needed for the janus loopback shim): skipping the janus path"
        print(message, file=sys.stderr)
        notes.append(message)
        paths = [p for p in paths if p != "janus"]

    load_before = _load_average()
    encode_started = time.process_time()
    clip = encode_clip()
    encode_cpu = time.process_time() - encode_started
    clip_kbps = sum(len(frame) for frame in clip) * 8 * FPS / len(clip) / 1000
    rooms: list[dict[str, Any]] = []
    late: dict[str, list[float]] = defaultdict(list)
    relay_collapsed_at: int | None = None
    deadline = time.monotonic() + plan.budget
    for n in sizes:
        measured: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for round_index in range(plan.rounds):
            # A B B A: alternating the order keeps a drift in the machine's load from
            # favouring one path.
            order = paths if round_index % 2 == 0 else list(reversed(paths))
            for path in order:
                skipped = _skip_reason(path, n, rooms, relay_collapsed_at, relay_max_n)
                if skipped is None and time.monotonic() > deadline:
                    skipped = _skipped(n, path, f"time budget of {plan.budget:.0f} s spent")
                if skipped is not None:
                    if not measured[path]:
                        measured[path].append(skipped)
                    continue
                if measured[path] and "skipped" in measured[path][0]:
                    continue
                room: dict[str, Any] = {}
                samples: dict[str, list[float]] = {}
                for attempt in range(1, plan.attempts + 1):
                    final = attempt == plan.attempts or time.monotonic() > deadline
                    print(
                        f"measuring {path} n={n} (round {round_index + 1}, attempt {attempt}) ...",
                        file=sys.stderr,
                    )
                    try:
                        room, samples = await measure_room(
                            path,
                            n,
                            clip,
                            plan,
                            janus,
                            final_attempt=final,
                            with_late_joins=round_index == 0,
                        )
                    except Exception as exc:
                        logger.exception("%s n=%d failed", path, n)
                        room, samples = {"n": n, "path": path, "error": str(exc)}, {}
                    room["attempts"] = attempt
                    if final or not room.get("peers_starved"):
                        break
                if path == "mediarelay":
                    room["collapsed"] = (room.get("min_subscriber_fps") or 0.0) < 1.0
                    if room["collapsed"]:
                        relay_collapsed_at = n
                measured[path].append(room)
                for kind, values in samples.items():
                    late[kind].extend(values)
                print(json.dumps(room), file=sys.stderr, flush=True)
        rooms.extend(_combine_rounds(measured[path]) for path in paths if measured[path])

    result: dict[str, Any] = {
        "rooms": rooms,
        "late_joiner_first_frame_ms": _joins(
            late["decoded"],
            failed=round(sum(late["failed"])),
            phases={phase: late[phase] for phase in ("answer", "connected", "first_packet")},
        ),
        "late_joiner_aiortc_client_first_frame_ms": _joins(
            late["aiortc_decoded"], failed=round(sum(late["aiortc_failed"]))
        ),
        "targets": _targets(rooms, late["decoded"]),
        "setup": {
            "video": f"VP8 {WIDTH}x{HEIGHT} {FPS} fps pre-encoded",
            "clip_kbps": round(clip_kbps),
            "clip_encode_cpu_s": round(encode_cpu, 2),
            "server_pinned_cpu": SERVER_CPU if plan.pin else None,
            "peers_pinned_cpu": PEERS_CPU if plan.pin else None,
            "late_joiner_room_n": plan.late_join_n,
            "server_receive_buffer": plan.server_receive_buffer,
            "peer_receive_buffer": PEER_RECEIVE_BUFFER,
            "niceness": os.getpriority(os.PRIO_PROCESS, 0),
            **_code_version(),
            "load_average_before": load_before,
            "load_average_after": _load_average(),
        },
    }
    if notes:
        result["notes"] = notes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 12])
    parser.add_argument(
        "--paths",
        nargs="+",
        default=["hoiva", "mediarelay", "janus"],
        choices=["hoiva", "mediarelay", "janus"],
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="measurement window")
    parser.add_argument("--relay-seconds", type=float, default=6.0)
    parser.add_argument("--relay-max-n", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--setup-timeout", type=float, default=30.0)
    parser.add_argument("--late-joins", type=int, default=10)
    parser.add_argument("--late-join-n", type=int, default=12)
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and peers")
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="measure every room this many times, paths in A B B A order; report medians",
    )
    parser.add_argument(
        "--attempts", type=int, default=2, help="measure a room again if the peers starved"
    )
    parser.add_argument(
        "--budget", type=float, default=960.0, help="start no room after this many seconds"
    )
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="niceness increment for the benchmark and its servers (negative needs root)",
    )
    parser.add_argument(
        "--server-rcvbuf",
        type=int,
        default=None,
        help="experiment: UDP receive buffer bytes for the hoiva/mediarelay server sockets",
    )
    parser.add_argument(
        "--serve", choices=["hoiva", "mediarelay", "joiner"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if args.serve:
        asyncio.run(serve(args.serve, args.server_rcvbuf))
        return
    if args.nice:
        os.nice(args.nice)  # inherited by the server processes started below
    pin = not args.no_pin and (os.cpu_count() or 1) >= 2 and shutil.which("taskset") is not None
    if pin:
        os.sched_setaffinity(0, {PEERS_CPU})
    plan = Plan(
        seconds=args.seconds,
        relay_seconds=args.relay_seconds,
        warmup=args.warmup,
        setup_timeout=args.setup_timeout,
        pin=pin,
        late_joins=args.late_joins,
        late_join_n=args.late_join_n,
        server_receive_buffer=args.server_rcvbuf,
        attempts=max(1, args.attempts),
        rounds=max(1, args.rounds),
        budget=args.budget,
    )
    result = asyncio.run(run(args.sizes, args.paths, plan, args.relay_max_n))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
