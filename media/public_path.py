"""The media server on aiortc's public API only: slower, but independent of aiortc's internals.

Used when `media.fast_path` is off (docs/media.md, "The public path"), e.g. after an aiortc
upgrade that the fast path's start-up probe refuses. aiortc offers no public way to take
encoded frames out of a receiver, so each publisher's track is decoded by aiortc (its
`RemoteStreamTrack`), fanned out with aiortc's `MediaRelay`, and re-encoded by each
subscriber's own `RTCRtpSender`: the MediaRelay design, 20-40x the CPU of the fast path per
subscriber, but everything aiortc does for a sender (keyframes on PLI/FIR, NACK history,
REMB) works as in any aiortc application. What the public API cannot give is documented on
each method: packet sinks, keyframe requests and REMB caps toward the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import time
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    RTCStatsReport,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError
from av import VideoFrame
from av.frame import Frame
from av.packet import Packet

from media.parts import PacketSink, Publisher

logger = logging.getLogger(__name__)

# How often the parts refresh the counters the room's budget and quality sampling read.
STATS_INTERVAL = 0.5
_VIDEO_TIME_BASE = fractions.Fraction(1, 90_000)


class RelayReceiver:
    """A publisher's track, decoded by aiortc and relayed to every subscriber's encoder."""

    def __init__(self, receiver: RTCRtpReceiver, kind: str) -> None:
        self._receiver = receiver
        self.media_kind = kind
        self._relay = MediaRelay()
        self._forwarding = True
        # The public API has no REMB knob: kept for the room's bookkeeping only.
        self.remb_cap: int | None = None
        self.bytes_received = 0
        self.packets_received = 0
        self._packets_lost = 0
        self._jitter = 0.0
        self.keyframe_requests_sent = 0

    @property
    def forwarding(self) -> bool:
        return self._forwarding

    def set_forwarding(self, enabled: bool) -> None:
        self._forwarding = enabled

    def subscribe(self) -> MediaStreamTrack:
        """A new proxy of the publisher's decoded track (MediaRelay: one reader, many proxies).

        Video keeps only the latest frame (a slow encoder skips frames rather than lagging);
        audio keeps every frame, as the encoder needs a continuous signal. The proxy's reader
        drains it even while paused or muted, so its queue stays short."""
        return self._relay.subscribe(self._receiver.track, buffered=self.media_kind == "audio")

    def loss_counters(self) -> tuple[int, int]:
        return self.packets_received + self._packets_lost, self.packets_received

    def jitter_seconds(self) -> float:
        clock_rate = 90_000 if self.media_kind == "video" else 48_000
        return self._jitter / clock_rate

    def set_remb_cap(self, bitrate: int | None) -> None:
        # aiortc sends REMB from its own estimate; the public API cannot cap it.
        self.remb_cap = bitrate

    def request_keyframe(self) -> None:
        # The public API cannot send a PLI upstream; subscribers' keyframes come from their
        # own encoders, so none is needed for forwarding.
        pass

    def add_packet_sink(self, sink: PacketSink) -> None:
        # No encoded packets on the public path: analysis taps and recorders see nothing.
        pass

    def remove_packet_sink(self, sink: PacketSink) -> None:
        pass

    async def refresh(self) -> None:
        for stats in (await self._receiver.getStats()).values():
            kind = getattr(stats, "type", None)
            if kind == "inbound-rtp":
                self.packets_received = int(stats.packetsReceived)
                self._packets_lost = max(0, int(stats.packetsLost))
                self._jitter = float(stats.jitter)
            elif kind == "transport" and self.media_kind == "video":
                # Bundled: the transport's bytes are the publisher's audio and video together.
                self.bytes_received = int(stats.bytesReceived)


class RelayedTrack(MediaStreamTrack):
    """What a subscriber's sender encodes: frames of whichever publisher is attached, restamped.

    Video frames are restamped on one clock of this track's own, so that a new publisher in
    the slot (whose frames carry its own timestamps) continues the stream instead of jumping.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.publisher: RelayReceiver | None = None
        self.paused = False
        self._source: MediaStreamTrack | None = None
        # Set (and replaced) at every switch: a recv() waiting on the old source gives up.
        self._changed = asyncio.Event()
        self._started_at = time.monotonic()
        self._last_pts = -1

    def switch(self, publisher: RelayReceiver | None) -> None:
        old = self._source
        self.publisher = publisher
        self._source = publisher.subscribe() if publisher is not None else None
        if old is not None:
            old.stop()
        self._changed.set()
        self._changed = asyncio.Event()

    async def recv(self) -> Frame | Packet[Any]:
        while True:
            source = self._source
            changed = self._changed
            if source is None:
                await changed.wait()
                continue
            # A stopped relay proxy never answers a pending recv(): wait for a switch too.
            receiving = asyncio.ensure_future(source.recv())
            switching = asyncio.ensure_future(changed.wait())
            await asyncio.wait((receiving, switching), return_when=asyncio.FIRST_COMPLETED)
            switching.cancel()
            if not receiving.done():
                receiving.cancel()
                continue
            try:
                frame = receiving.result()
            except MediaStreamError:
                if source is self._source:
                    self._source = None
                continue
            publisher = self.publisher
            # Read even while paused or muted, so that frames do not pile up in the relay.
            if source is not self._source or self.paused or publisher is None:
                continue
            if not publisher.forwarding or not isinstance(frame, Frame):
                continue
            return self._restamp(frame)

    def _restamp(self, frame: Frame) -> Frame:
        if not isinstance(frame, VideoFrame):
            # aiortc's Opus encoder counts its own timestamps.
            return frame
        # MediaRelay hands every proxy the same frame object: restamp a copy. Strictly
        # increasing, as libvpx requires, even for frames a clock tick apart.
        copy = VideoFrame.from_ndarray(frame.to_ndarray(format="yuv420p"), format="yuv420p")
        pts = max(int((time.monotonic() - self._started_at) * 90_000), self._last_pts + 1)
        self._last_pts = pts
        copy.pts = pts
        copy.time_base = _VIDEO_TIME_BASE
        return copy

    def stop(self) -> None:
        self.switch(None)
        super().stop()


class RelaySender:
    """The server's sender of one slot's audio or video on the public path."""

    def __init__(self, transceiver: RTCRtpTransceiver, track: RelayedTrack) -> None:
        self._transceiver = transceiver
        self._sender: RTCRtpSender = transceiver.sender
        self._track = track
        self.kind = transceiver.kind
        self.octets_forwarded = 0
        # aiortc gives every track of a connection the connection's stream id; the public API
        # cannot set one per slot.
        self._stream_id = track.id

    @property
    def paused(self) -> bool:
        return self._track.paused

    @property
    def started(self) -> bool:
        return self._sender.transport.state == "connected" and (
            self._transceiver.currentDirection in ("sendonly", "sendrecv")
        )

    @property
    def source(self) -> Publisher | None:
        return self._track.publisher

    @property
    def stream_id(self) -> str:
        return self._stream_id

    @stream_id.setter
    def stream_id(self, value: str) -> None:
        self._stream_id = value

    def attach(self, source: Publisher | None) -> None:
        assert source is None or isinstance(source, RelayReceiver)
        if source is self._track.publisher:
            return
        self._track.paused = False
        self._track.switch(source)

    def set_paused(self, paused: bool) -> None:
        self._track.paused = paused

    async def getStats(self) -> RTCStatsReport:
        return await self._sender.getStats()

    async def refresh(self) -> None:
        for stats in (await self._sender.getStats()).values():
            if getattr(stats, "type", None) == "outbound-rtp":
                self.octets_forwarded = int(stats.bytesSent)

    def stop(self) -> None:
        self._track.stop()


class PublicPeerConnection(RTCPeerConnection):
    """A participant's connection on the public path: aiortc's own senders and receivers."""

    def __init__(self, configuration: RTCConfiguration) -> None:
        super().__init__(configuration)
        self._publishers: dict[RTCRtpTransceiver, RelayReceiver] = {}
        self._subscribers: dict[RTCRtpTransceiver, RelaySender] = {}
        self._stats_task: asyncio.Task[None] | None = None
        self.on("connectionstatechange", self._on_state)

    def publisher_part(self, transceiver: RTCRtpTransceiver) -> RelayReceiver | None:
        part = self._publishers.get(transceiver)
        if part is None and transceiver.receiver.track is not None:
            part = self._publishers[transceiver] = RelayReceiver(
                transceiver.receiver, transceiver.kind
            )
        return part

    def subscriber_part(self, transceiver: RTCRtpTransceiver) -> RelaySender | None:
        return self._subscribers.get(transceiver)

    def add_sending_transceiver(self, kind: str) -> RTCRtpTransceiver:
        track = RelayedTrack(kind)
        transceiver = self.addTransceiver(track, direction="sendonly")
        self._subscribers[transceiver] = RelaySender(transceiver, track)
        return transceiver

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        await super().setRemoteDescription(sessionDescription)
        if sessionDescription.type != "offer":
            return
        # The participant's own m-sections also carry its first remote publisher down.
        for transceiver in self.getTransceivers():
            if transceiver in self._subscribers:
                continue
            if transceiver.direction == "recvonly":
                transceiver.direction = "sendrecv"
            track = RelayedTrack(transceiver.kind)
            transceiver.sender.replaceTrack(track)
            self._subscribers[transceiver] = RelaySender(transceiver, track)

    async def close(self) -> None:
        if self._stats_task is not None:
            self._stats_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._stats_task
        for sender in self._subscribers.values():
            sender.stop()
        await super().close()

    def _on_state(self) -> None:
        if self.connectionState == "connected" and self._stats_task is None:
            self._stats_task = asyncio.ensure_future(self._refresh_stats())

    async def _refresh_stats(self) -> None:
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            try:
                for transceiver in self.getTransceivers():
                    publisher = self._publishers.get(transceiver)
                    if publisher is not None:
                        await publisher.refresh()
                for sender in tuple(self._subscribers.values()):
                    await sender.refresh()
            except Exception:
                logger.debug("refreshing media statistics failed", exc_info=True)
