"""Packet-level forwarding: aiortc receiver and sender subclasses that move encoded RTP.

A publisher's packets arrive at a `ForwardingReceiver`, which keeps aiortc's receive-side RTCP
duties (receiver reports, NACKs, REMB upstream) but never depayloads, buffers or decodes; it
hands each packet to the `ForwardingSender`s subscribed to it.  Each sender rewrites the packet
into its own stream (SSRC, sequence numbers, timestamps, payload type, header extensions) and
sends it on the subscriber's transport.  The aiortc internals this needs are reached only through
media/aiortc_internals.py (the base classes and helpers imported from there).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from media import aiortc_internals, ntp_clock
from media.aiortc_internals import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    ReceiverInternals,
    RtcpPsfbPacket,
    RtpPacket,
    SenderInternals,
    StreamStatistics,
    is_rtx,
    pack_remb_fci,
    random32,
    random_sequence_number,
    unwrap_rtx,
)
from media.direct_send import DirectRoute, direct_route
from media.keyframes import KeyframeRequestThrottle
from media.parts import PacketSink, Publisher
from media.rate_window import WindowedRate
from media.rtp_fastpath import RtpHeaderWriter, extension_ids
from media.rtp_rewrite import StreamRewriter
from media.srtp_buffer import MAX_PACKET
from media.vp8 import is_keyframe_start

logger = logging.getLogger(__name__)


# A gated subscriber whose keyframe request went unanswered (PLI lost, publisher busy) asks
# again after this long instead of staying black.
KEYFRAME_RETRY_INTERVAL = 1.0

# What a ForwardingSender keeps of each packet it sent, to rebuild it for a retransmission:
# (sequence number, marker, timestamp, payload, padding size, abs-send-time, audio level).
_SentPacket = tuple[int, int, int, bytes, int, int, "tuple[bool, int] | None"]


class ForwardingReceiver(ReceiverInternals):
    """Receives a publisher's RTP and fans it out, encoded, to subscribed senders."""

    def __init__(self, kind: str, transport: RTCDtlsTransport) -> None:
        super().__init__(kind, transport)
        # aiortc makes these once, in its constructor; held here for the per-packet path.
        self._codecs_by_pt = self.negotiated_codecs
        self._stream_stats = self.remote_streams
        self._rtx_ssrc_map = self.rtx_ssrcs
        self._nacks = self.nack_generator
        self._estimator = self.bitrate_estimator
        if self._estimator is not None:
            aiortc_internals.use_rate_counter(self._estimator, WindowedRate(1000, 8000))
        self.media_kind = kind
        self.media_ssrc: int | None = None
        self.packets_received = 0
        # Bumped when forwarding resumes after a host mute, so that subscribers start a new
        # epoch instead of showing the silence as packet loss.
        self.generation = 0
        self.bytes_received = 0
        # Group rooms cap the REMB we send upstream at the publisher's hint (bitrate_policy).
        self.remb_cap: int | None = None
        self._remb_estimate: int | None = None
        self._forwarding = True
        self._subscribers: list[ForwardingSender] = []
        self._keyframes = KeyframeRequestThrottle(self._send_pli_soon)
        self._tasks: set[asyncio.Task[None]] = set()
        # Consumers of the encoded packets beside the subscribers (analysis, recording).
        self._packet_sinks: list[PacketSink] = []
        # Fixed by `receive()`: which of the negotiated payload types are RTX.
        self._rtx_payload_types: frozenset[int] = frozenset()

    @property
    def subscribers(self) -> tuple[ForwardingSender, ...]:
        return tuple(self._subscribers)

    @property
    def forwarding(self) -> bool:
        return self._forwarding

    @property
    def keyframe_requests_sent(self) -> int:
        return self._keyframes.sent

    def set_forwarding(self, enabled: bool) -> None:
        """Stop or resume fanning out this publisher's packets (host mute)."""
        if enabled and not self._forwarding:
            self.generation += 1
        self._forwarding = enabled

    def loss_counters(self) -> tuple[int, int]:
        """(packets expected, packets received) of the publisher's media stream so far."""
        stream = self._stream_stats.get(self.media_ssrc or -1)
        if stream is None:
            return 0, 0
        return stream.packets_expected, stream.packets_received

    def jitter_seconds(self) -> float:
        """Interarrival jitter of the publisher's media stream (RTCP statistics)."""
        stream = self._stream_stats.get(self.media_ssrc or -1)
        if stream is None:
            return 0.0
        clock_rate = 90_000 if self.media_kind == "video" else 48_000
        return float(stream.jitter) / clock_rate

    def set_remb_cap(self, bitrate: int | None) -> None:
        """Cap the bitrate we ask of the publisher; sent at once when it lowers the ask."""
        self.remb_cap = bitrate
        if bitrate is not None:
            self.send_remb(self._remb_estimate or bitrate)

    def send_remb(self, estimate: int) -> None:
        """Send REMB upstream: our estimate of the publisher's uplink, capped by policy."""
        rtcp_ssrc = self.rtcp_ssrc
        if self.media_kind != "video" or rtcp_ssrc is None or self.media_ssrc is None:
            return
        bitrate = min(estimate, self.remb_cap) if self.remb_cap is not None else estimate
        packet = RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP,
            ssrc=rtcp_ssrc,
            media_ssrc=0,
            fci=pack_remb_fci(bitrate, [self.media_ssrc]),
        )
        self._spawn(self.send_rtcp(packet))

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, throttled; audio receivers ignore it."""
        if self.media_kind == "video":
            self._keyframes.request()

    def on_receive(self) -> None:
        # `receive()` (aiortc_internals) has applied the negotiated codecs.
        codecs = self._codecs_by_pt
        self._rtx_payload_types = frozenset(pt for pt, codec in codecs.items() if is_rtx(codec))

    async def stop(self) -> None:
        self._keyframes.close()
        for sender in tuple(self._subscribers):
            sender.attach(None)
        for task in tuple(self._tasks):
            task.cancel()
        await super().stop()

    def handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        """One packet from the publisher: statistics and feedback upstream, then subscribers."""
        # Mirrors RTCRtpReceiver._handle_rtp_packet up to the point where it depayloads; from
        # there the packet goes to the subscribers instead of the jitter buffer and decoder.
        # What aiortc awaits there (RTCP sends) runs as a task: the packet need not wait.
        if not self.receiving_enabled:
            return

        estimator = self._estimator
        if estimator is not None and packet.extensions.abs_send_time is not None:
            remb = estimator.add(
                abs_send_time=packet.extensions.abs_send_time,
                arrival_time_ms=arrival_time_ms,
                payload_size=len(packet.payload) + packet.padding_size,
                ssrc=packet.ssrc,
            )
            rtcp_ssrc = self.rtcp_ssrc if remb is not None else None
            if rtcp_ssrc is not None and remb is not None:
                bitrate, ssrcs = remb
                self._remb_estimate = bitrate
                if self.remb_cap is not None:
                    bitrate = min(bitrate, self.remb_cap)
                self._spawn(
                    self.send_rtcp(
                        RtcpPsfbPacket(
                            fmt=RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=pack_remb_fci(bitrate, ssrcs),
                        )
                    )
                )

        codecs = self._codecs_by_pt
        codec = codecs.get(packet.payload_type)
        if codec is None:
            return

        # Receiver reports upstream are built from these statistics.
        streams = self._stream_stats
        stream = streams.get(packet.ssrc)
        if stream is None:
            stream = streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)

        if packet.payload_type in self._rtx_payload_types:
            original_ssrc = self._rtx_ssrc_map.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if (
                original_ssrc is None
                or len(packet.payload) < 2
                or not isinstance(apt, int)
                or apt not in codecs
            ):
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)

        nack_generator = self._nacks
        # Fresh: the newest packet so far, not a retransmission or a straggler.
        fresh = True
        if nack_generator is not None:
            if nack_generator.add(packet):
                self._spawn(self.send_nack(packet.ssrc, sorted(nack_generator.missing)))
            fresh = nack_generator.max_seq == packet.sequence_number

        first = self.media_ssrc is None
        self.media_ssrc = packet.ssrc
        self.packets_received += 1
        self.bytes_received += len(packet.payload) + packet.padding_size
        if first and self.remb_cap is not None:
            # The cap was set before we knew the publisher's SSRC: ask for it now.
            self.send_remb(self.remb_cap)
        if self._subscribers and self._forwarding:
            self._fan_out(packet, fresh)
        for sink in self._packet_sinks:
            sink(packet)

    def _fan_out(self, packet: RtpPacket, fresh: bool) -> None:
        now = time.monotonic()
        # One wall-clock reading serves every subscriber (abs-send-time and SR counters).
        ntp_time = ntp_clock.current_ntp_time()
        abs_send_time = (ntp_time >> 14) & 0x00FFFFFF
        keyframe: bool | None = None
        for sender in tuple(self._subscribers):
            if sender.paused:
                continue
            if sender.awaiting_keyframe:
                if keyframe is None:
                    # A late retransmission of an old keyframe must not open the gate: the
                    # subscriber would decode a picture older than one it has already shown.
                    keyframe = fresh and is_keyframe_start(packet.payload)
                if not keyframe:
                    if now - sender.keyframe_requested_at >= KEYFRAME_RETRY_INTERVAL:
                        sender.keyframe_requested_at = now
                        self.request_keyframe()
                    continue
                sender.open_gate(packet, now)
            # Plain calls on a direct UDP path; aiortc's coroutines only for TURN and such.
            data = sender.forward(packet, now, ntp_time, abs_send_time)
            if data is not None:
                self._spawn(sender.send_through_aiortc(data, len(packet.payload), ntp_time))

    def add_packet_sink(self, sink: PacketSink) -> None:
        """Also hand every packet (RTX unwrapped) to `sink`, which must return at once."""
        if sink not in self._packet_sinks:
            self._packet_sinks.append(sink)

    def remove_packet_sink(self, sink: PacketSink) -> None:
        if sink in self._packet_sinks:
            self._packet_sinks.remove(sink)

    def _add_subscriber(self, sender: ForwardingSender) -> None:
        if sender not in self._subscribers:
            self._subscribers.append(sender)

    def _remove_subscriber(self, sender: ForwardingSender) -> None:
        if sender in self._subscribers:
            self._subscribers.remove(sender)

    def _send_pli_soon(self) -> bool:
        # Without a packet we do not know the publisher's SSRC yet; its first frame is a
        # keyframe anyway.
        if self.media_ssrc is None:
            return False
        self._spawn(self.send_pli(self.media_ssrc))
        return True

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class ForwardingSender(SenderInternals):
    """Sends one subscriber the packets of whichever publisher receiver it is attached to."""

    def __init__(self, kind: str, transport: RTCDtlsTransport) -> None:
        super().__init__(kind, transport)
        self.awaiting_keyframe = False
        self.keyframe_requested_at = 0.0
        # Paused by the room's subscriber budget (video only); resumes on a keyframe.
        self.paused = False
        self.packets_forwarded = 0
        self.octets_forwarded = 0
        self.last_sent_ntp_time = 0
        # Where copies leave while the transport's pair stays the same (media/direct_send.py),
        # and how it is looked up (tests substitute a lookup that watches the copies).
        self._route: DirectRoute | None = None
        self.route_for: Callable[[RTCDtlsTransport], DirectRoute | None] = direct_route
        self._source: ForwardingReceiver | None = None
        self._source_generation = 0
        self._payload_type: int | None = None
        self._mid: str | None = None
        self._writer: RtpHeaderWriter | None = None
        # Ring of the packets sent, indexed like aiortc's history; `_retransmit` rebuilds an
        # `RtpPacket` from it only when the subscriber NACKs.
        self._sent: list[_SentPacket | None] = [None] * RTP_HISTORY_SIZE
        self._rewriter: StreamRewriter | None = None

    # aiortc's sender-report loop and getStats() read the plain counters the forwarding path
    # keeps per copy (`packets_forwarded`, `octets_forwarded`, `last_sent_ntp_time`, and this).
    @property
    def last_rtp_timestamp(self) -> int:
        # The RTP timestamp of the newest packet, which the sender report pairs with its NTP
        # time: the rewriter's newest output.
        return self._rewriter.last_timestamp if self._rewriter is not None else 0

    @property
    def source(self) -> ForwardingReceiver | None:
        return self._source

    @property
    def started(self) -> bool:
        """True once negotiated and connected: aiortc has called `send()`."""
        return self._rewriter is not None

    def attach(self, source: Publisher | None) -> None:
        """Forward `source`'s packets from now on (None: send nothing)."""
        assert source is None or isinstance(source, ForwardingReceiver)
        if source is self._source:
            return
        if self._source is not None:
            self._source._remove_subscriber(self)
        self._source = source
        self.awaiting_keyframe = False
        # A pause was a decision about the previous publisher; the budget decides afresh.
        self.paused = False
        if source is not None:
            source._add_subscriber(self)
            if self.started:
                self._begin_epoch(source)

    def set_paused(self, paused: bool) -> None:
        """Stop forwarding (bandwidth budget), or resume at the publisher's next keyframe."""
        if paused == self.paused:
            return
        self.paused = paused
        # Resuming starts a new epoch, so the subscriber sees a continuous stream rather
        # than the pause as packet loss, and a keyframe gate, so it never decodes mid-GOP.
        if not paused and self.started and self._source is not None:
            self._begin_epoch(self._source)

    def open_gate(self, packet: RtpPacket, now: float) -> None:
        """`packet`, about to be forwarded, starts a fresh keyframe: a new epoch begins with it."""
        self.awaiting_keyframe = False
        self._start_epoch(packet, now)

    async def send(self, parameters: RTCRtpSendParameters) -> None:
        # aiortc calls send() again after every renegotiation; only the first call counts.
        if self._rewriter is not None:
            return
        codec = parameters.codecs[0]
        self._payload_type = codec.payloadType
        self._mid = parameters.muxId
        if codec.payloadType is not None:
            self._writer = RtpHeaderWriter(
                payload_type=codec.payloadType,
                ssrc=self.ssrc,
                mid=self._mid,
                ids=extension_ids(parameters),
            )
        # Registers the SSRC with the transport (so RTCP reaches us), notes the RTX payload
        # type for retransmissions, starts our idle `_run_rtp` and aiortc's SR loop.
        await super().send(parameters)
        self._rewriter = StreamRewriter(
            clock_rate=codec.clockRate,
            initial_seq=random_sequence_number(),
            initial_ts=random32(),
        )
        if self._source is not None:
            self._begin_epoch(self._source)

    async def stop(self) -> None:
        self.attach(None)
        await super().stop()

    def on_keyframe_request(self) -> None:
        # PLI or FIR from the subscriber: the publisher is the one that can produce a keyframe.
        if self._source is not None:
            self._source.request_keyframe()

    def packet_for_retransmission(self, sequence_number: int) -> RtpPacket | None:
        # A NACK: we keep only the fields of what we sent; build the packet aiortc would have
        # stored in its history (aiortc_internals puts it there and aiortc resends it).
        sent = self._sent[sequence_number % RTP_HISTORY_SIZE]
        if sent is None or sent[0] != sequence_number or self._payload_type is None:
            return None
        _, marker, timestamp, payload, padding_size, abs_send_time, audio_level = sent
        packet = RtpPacket(
            payload_type=self._payload_type,
            marker=marker,
            sequence_number=sequence_number,
            timestamp=timestamp,
            ssrc=self.ssrc,
            payload=payload,
        )
        packet.padding_size = padding_size
        packet.extensions.mid = self._mid
        packet.extensions.abs_send_time = abs_send_time
        packet.extensions.audio_level = audio_level
        return packet

    def _begin_epoch(self, source: ForwardingReceiver) -> None:
        assert self._rewriter is not None
        self._rewriter.end_epoch()
        self._source_generation = source.generation
        if self.kind == "video":
            self.awaiting_keyframe = True
            self.keyframe_requested_at = time.monotonic()
            source.request_keyframe()

    def _start_epoch(self, packet: RtpPacket, now: float) -> None:
        assert self._rewriter is not None and self._source is not None
        self._source_generation = self._source.generation
        self._rewriter.end_epoch()
        self._rewriter.start(packet.sequence_number, packet.timestamp, packet.ssrc, now)

    async def send_through_aiortc(self, data: bytes, payload_size: int, ntp_time: int) -> None:
        """What `forward` could not send directly (a TURN pair, say): aiortc's path."""
        try:
            await aiortc_internals.send_rtp(self.transport, data)
        except ConnectionError:
            return
        self.count_sent(payload_size, ntp_time)

    def forget_route(self) -> None:
        """Look the transport's way out up again at the next copy."""
        self._route = None

    def forward(
        self, packet: RtpPacket, now: float, ntp_time: int, abs_send_time: int
    ) -> bytes | None:
        """Send `packet`, rewritten into this subscriber's stream, at once where the path allows.

        Returns the packet's bytes when it must go through aiortc instead
        (`send_through_aiortc`), else None. Positional arguments: this runs once per copy.
        """
        writer = self._writer
        mapped = self._map(packet, now)
        if mapped is None or writer is None:
            return None
        sequence_number, timestamp = mapped
        marker = packet.marker
        payload = packet.payload
        padding_size = packet.padding_size
        audio_level = packet.extensions.audio_level
        # Kept for `_retransmit`, which serves the subscriber's NACKs.
        self._sent[sequence_number % RTP_HISTORY_SIZE] = (
            sequence_number,
            marker,
            timestamp,
            payload,
            padding_size,
            abs_send_time,
            audio_level,
        )

        route = self._route
        if route is None or not route.is_current():
            route = self._route = self.route_for(self.transport)
        if route is not None and not padding_size:
            # Built where it is protected: the bytes aiortc's `RtpPacket.serialize` would
            # produce (media/rtp_fastpath.py), then SRTP in place (media/srtp_buffer.py).
            view = route.srtp.view
            start = writer.write_header(
                view, marker, sequence_number, timestamp, abs_send_time, audio_level
            )
            end = start + len(payload)
            if end <= MAX_PACKET:
                view[start:end] = payload
                try:
                    route.send(end)
                except BlockingIOError:
                    # The socket's buffer is full: lost like a packet on the way, and the
                    # subscriber NACKs it.
                    return None
                except (OSError, pylibsrtp.Error):
                    logger.debug("copy not sent; the route is looked up again", exc_info=True)
                    self._route = None
                    return None
                # `count_sent`, inline: this runs once per copy.
                self.packets_forwarded += 1
                self.octets_forwarded += len(payload)
                self.last_sent_ntp_time = ntp_time
                return None
        return writer.serialize(
            marker=marker,
            sequence_number=sequence_number,
            timestamp=timestamp,
            payload=payload,
            abs_send_time=abs_send_time,
            audio_level=audio_level,
            padding_size=padding_size,
        )

    def _map(self, packet: RtpPacket, now: float) -> tuple[int, int] | None:
        """(seq, ts) of `packet` in this subscriber's stream; None: do not send it."""
        rewriter = self._rewriter
        source = self._source
        if rewriter is None or source is None or not self.sending_enabled:
            return None
        # An active epoch has the SSRC of its source; an ended one has none.
        if rewriter.ssrc != packet.ssrc or self._source_generation != source.generation:
            if self.kind == "video":
                # Video epochs start only at the keyframe gate (`open_gate`), never mid-GOP.
                self._begin_epoch(source)
                return None
            self._start_epoch(packet, now)
        return rewriter.map(packet.sequence_number, packet.timestamp, now)

    def count_sent(self, payload_size: int, ntp_time: int) -> None:
        """Account for a copy that reached the transport (aiortc's sender reports read it)."""
        self.packets_forwarded += 1
        self.octets_forwarded += payload_size
        self.last_sent_ntp_time = ntp_time
