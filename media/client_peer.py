"""The client end of a call: headless tablets, the headless nurse, tests and benchmarks.

An ordinary aiortc peer (it encodes and decodes; it is an endpoint) that offers sendrecv audio
and video to the media server, answers the server's renegotiation offers, and counts what it
decodes, reading the synthetic frame marks when the sender draws them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from aiortc import (
    MediaStreamTrack,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame

from media.ice import IceServerConfig, to_rtc_configuration
from media.synthetic import SyntheticAudioTrack, read_frame_marks
from media.udp_reads import install_draining_reads

logger = logging.getLogger(__name__)

# A camera or synthetic source: any aiortc video track (SyntheticVideoTrack, CameraVideoSource).
VideoSource: TypeAlias = MediaStreamTrack

# Bounded so that a headless tablet running for days does not grow without limit.
MAX_MARKS_PER_TRACK = 10_000


@dataclass
class ReceiveStats:
    """What this client decoded, keyed by the mid of the receiving transceiver."""

    video_frames: dict[str, int] = field(default_factory=dict)
    audio_frames: int = 0
    audio_by_mid: dict[str, int] = field(default_factory=dict)
    frame_sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # latest, per mid
    first_video_frame_at: float | None = None
    marks: dict[str, deque[tuple[int, int]]] = field(default_factory=dict)

    def sources(self, mid: str) -> set[int]:
        """Source ids seen in the marks of one track."""
        return {source for source, _ in self.marks.get(mid, ())}


class ClientPeer:
    """One participant's peer connection to the media server."""

    def __init__(
        self,
        *,
        ice_servers: Sequence[IceServerConfig] = (),
        video: VideoSource | None,
        audio: bool = True,
        decode_marks: bool = True,
        relay_only: bool = False,
    ) -> None:
        # A client receiving a whole room's streams on one socket needs this (udp_reads.py).
        install_draining_reads()
        self.stats = ReceiveStats()
        self.created_at = time.monotonic()
        self._pc = RTCPeerConnection(to_rtc_configuration(ice_servers, relay_only=relay_only))
        self._video = video
        self._audio = SyntheticAudioTrack() if audio else None
        self._decode_marks = decode_marks
        self.publish_hint: tuple[int, int, float] | None = None
        self._consumers: set[asyncio.Task[None]] = set()
        self._progress = asyncio.Event()
        self._connected = asyncio.Event()
        self._pc.on("track", self._on_track)
        self._pc.on("connectionstatechange", self._on_connection_state)

    @property
    def connection_state(self) -> str:
        return str(self._pc.connectionState)

    async def create_offer(self) -> str:
        """Offer audio and video (sendrecv, or recvonly for a kind we have no source for).

        Returns the SDP with all candidates gathered (aiortc does not trickle).
        """
        self._pc.addTransceiver(
            self._audio or "audio", direction="sendrecv" if self._audio else "recvonly"
        )
        video = self._pc.addTransceiver(
            self._video or "video", direction="sendrecv" if self._video else "recvonly"
        )
        # The server forwards VP8 only; offering it alone keeps the negotiation obvious.
        video.setCodecPreferences(
            [
                codec
                for codec in RTCRtpSender.getCapabilities("video").codecs
                if codec.mimeType.lower() in ("video/vp8", "video/rtx")
            ]
        )
        await self._pc.setLocalDescription(await self._pc.createOffer())
        return str(self._pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def accept_offer(self, sdp: str) -> str:
        """Apply a server renegotiation offer and return the answer."""
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        return str(self._pc.localDescription.sdp)

    def apply_publish_hint(self, max_bitrate: int, max_fps: int, scale_down: float) -> None:
        """Follow the server's publish hint (group rooms).

        Frame rate and size are the source's to change (synthetic sources can); the bitrate
        is enforced by the server's REMB, which aiortc's encoder obeys.
        """
        self.publish_hint = (max_bitrate, max_fps, scale_down)
        set_limits = getattr(self._video, "set_limits", None)
        if callable(set_limits):
            set_limits(max_fps, scale_down)

    async def wait_connected(self, timeout: float) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def wait_for_video_frames(self, n: int, timeout: float, *, tracks: int = 1) -> None:
        """Wait until `tracks` remote video tracks have each decoded at least `n` frames."""
        deadline = time.monotonic() + timeout
        while sum(1 for count in self.stats.video_frames.values() if count >= n) < tracks:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"wanted {n} frames on {tracks} track(s), have {self.stats.video_frames}"
                )
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._progress.wait()

    async def close(self) -> None:
        for task in tuple(self._consumers):
            task.cancel()
        await self._pc.close()
        await asyncio.gather(*self._consumers, return_exceptions=True)
        for track in (self._video, self._audio):
            if track is not None:
                track.stop()

    def _on_connection_state(self) -> None:
        if self._pc.connectionState == "connected":
            self._connected.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        mid = next(
            (str(t.mid) for t in self._pc.getTransceivers() if t.receiver.track is track),
            track.id,
        )
        consume = (
            self._consume_video(mid, track)
            if track.kind == "video"
            else (self._consume_audio(mid, track))
        )
        task = asyncio.ensure_future(consume)
        self._consumers.add(task)
        task.add_done_callback(self._consumers.discard)

    async def _consume_video(self, mid: str, track: MediaStreamTrack) -> None:
        stats = self.stats
        stats.video_frames.setdefault(mid, 0)
        marks = stats.marks.setdefault(mid, deque(maxlen=MAX_MARKS_PER_TRACK))
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                if stats.first_video_frame_at is None:
                    stats.first_video_frame_at = time.monotonic()
                stats.video_frames[mid] += 1
                if isinstance(frame, VideoFrame):
                    stats.frame_sizes[mid] = (frame.width, frame.height)
                if self._decode_marks and isinstance(frame, VideoFrame):
                    mark = read_frame_marks(frame)
                    if mark is not None:
                        marks.append(mark)
                self._progress.set()

    async def _consume_audio(self, mid: str, track: MediaStreamTrack) -> None:
        stats = self.stats
        stats.audio_by_mid.setdefault(mid, 0)
        with contextlib.suppress(MediaStreamError):
            while True:
                await track.recv()
                stats.audio_frames += 1
                stats.audio_by_mid[mid] += 1
