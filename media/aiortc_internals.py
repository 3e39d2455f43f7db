"""The one door to aiortc's, aioice's and pylibsrtp's internals (and the few asyncio ones).

The fast path (docs/media.md, "The forwarding path") forwards encoded RTP by reading and
overriding library internals that no release promises to keep. Every such use is spelt here
and nowhere else: private and name-mangled attributes, private methods we call or override,
module-level functions we replace, and the undocumented helpers of aiortc's submodules. The
rest of `media/` uses the public names this module gives them.

`check_fast_path()` runs when the media server starts with `media.fast_path` on: it compares
the installed versions with the ones the fast path was built and measured on, and probes every
attribute and method listed in `FAST_PATH_REQUIREMENTS` on real aiortc objects, so that an
upgrade fails at start-up with the name of what changed instead of misbehaving in a call.
With `media.fast_path` off the server uses `media/public_path.py`, which needs none of this.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import aioice.ice
from aioice.ice import CandidatePair, Connection, StunProtocol
from aiortc import RTCConfiguration, RTCPeerConnection, RTCRtpTransceiver, RTCStatsReport
from aiortc.codecs import is_rtx
from aiortc.exceptions import InternalError
from aiortc.rate import RateCounter, RemoteBitrateEstimator
from aiortc.rtcdtlstransport import RTCDtlsTransport, RtpRouter, State
from aiortc.rtcrtpparameters import (
    RTCRtpCodecCapability,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpReceiveParameters,
)
from aiortc.rtcrtpreceiver import (
    NackGenerator,
    RemoteStreamTrack,
    RTCRtpReceiver,
    StreamStatistics,
)
from aiortc.rtcrtpsender import RTCRtpSender, random_sequence_number
from aiortc.rtcsctptransport import RTCSctpTransport
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTP_HISTORY_SIZE,
    AnyRtcpPacket,
    HeaderExtensions,
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtpPacket,
    pack_header_extensions,
    pack_remb_fci,
    unwrap_rtx,
)
from aiortc.utils import random32
from pylibsrtp import Policy, Session
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

from media.errors import MediaError

__all__ = [
    "BUILT_ON",
    "CONN_LOST",
    "DTLS_CONNECTED",
    "DTLS_STATE",
    "FAST_PATH_REQUIREMENTS",
    "RTCP_PSFB_APP",
    "RTP_HISTORY_SIZE",
    "RX_BYTES",
    "RX_PACKETS",
    "RX_SRTP",
    "TX_BYTES",
    "TX_PACKETS",
    "TX_SRTP",
    "CandidatePair",
    "FastPathUnavailable",
    "HeaderExtensions",
    "HeaderExtensionsMap",
    "NackGenerator",
    "PeerConnectionInternals",
    "RateCounter",
    "ReceiverInternals",
    "RemoteBitrateEstimator",
    "Requirement",
    "RtcpPsfbPacket",
    "RtpPacket",
    "SenderInternals",
    "StreamStatistics",
    "StunProtocol",
    "check_fast_path",
    "is_rtx",
    "pack_header_extensions",
    "pack_remb_fci",
    "probe",
    "random32",
    "random_sequence_number",
    "srtp_ffi",
    "srtp_lib",
    "unwrap_rtx",
]

# The versions the fast path was written against and measured on (pinned in pyproject.toml).
BUILT_ON: tuple[tuple[str, str], ...] = (
    ("aiortc", "1.16.0"),
    ("aioice", "0.13.0"),
    ("pylibsrtp", "1.0.0"),
)

# Keys of an RTCDtlsTransport's instance dict: its name-mangled counters, which getStats()
# reports. The hot paths add to them through `vars(dtls)` (a dict subscription, as cheap as
# the attribute).
RX_BYTES = "_RTCDtlsTransport__rx_bytes"
RX_PACKETS = "_RTCDtlsTransport__rx_packets"
TX_BYTES = "_RTCDtlsTransport__tx_bytes"
TX_PACKETS = "_RTCDtlsTransport__tx_packets"
# ...and its state and SRTP sessions, which the per-packet paths read the same way.
DTLS_STATE = "_state"
RX_SRTP = "_rx_srtp"
TX_SRTP = "_tx_srtp"
DTLS_CONNECTED = State.CONNECTED


class FastPathUnavailable(MediaError):
    """The installed aiortc/aioice/pylibsrtp is not the one the fast path was built on."""


# -- transports ---------------------------------------------------------------------------


def dtls_connected(dtls: RTCDtlsTransport) -> bool:
    return dtls._state is State.CONNECTED


def rx_srtp(dtls: RTCDtlsTransport) -> Session | None:
    """The transport's inbound SRTP session (None until DTLS is up)."""
    session: Session | None = dtls._rx_srtp
    return session


def tx_srtp(dtls: RTCDtlsTransport) -> Session | None:
    session: Session | None = dtls._tx_srtp
    return session


def nominated_pairs(dtls: RTCDtlsTransport) -> dict[int, CandidatePair]:
    """aioice's dict of nominated pairs by component (it keeps the one dict for its lifetime)."""
    nominated: dict[int, CandidatePair] = dtls.transport._connection._nominated
    return nominated


def rtp_router(dtls: RTCDtlsTransport) -> RtpRouter:
    """The transport's router from SSRC/mid to receiver (made once, in its constructor)."""
    return dtls._rtp_router


def extensions_map(dtls: RTCDtlsTransport) -> HeaderExtensionsMap:
    return dtls._rtp_header_extensions_map


def set_extensions_map(dtls: RTCDtlsTransport, extensions: HeaderExtensionsMap) -> None:
    """Replace the map the transport parses RTP with (before any receiver configures it)."""
    dtls._rtp_header_extensions_map = extensions


def transport_counters(dtls: RTCDtlsTransport) -> dict[str, Any]:
    """The transport's instance dict, for `RX_BYTES`, `TX_PACKETS`, ... (getStats reads them)."""
    return vars(dtls)


async def send_rtp(dtls: RTCDtlsTransport, data: bytes) -> None:
    """aiortc's SRTP-protect-and-send of one RTP packet."""
    await dtls._send_rtp(data)


SendRtp = Callable[[bytes], Awaitable[None]]


def send_rtp_function(dtls: RTCDtlsTransport) -> SendRtp:
    """The transport's `_send_rtp`, which tests wrap to watch or lose what aiortc sends."""
    function: SendRtp = dtls._send_rtp
    return function


def set_send_rtp_function(dtls: RTCDtlsTransport, function: SendRtp) -> None:
    dtls._send_rtp = function  # type: ignore[method-assign,assignment]


def transport_stats(dtls: RTCDtlsTransport) -> RTCStatsReport:
    """The transport's own statistics (packets and bytes both ways)."""
    report: RTCStatsReport = dtls._get_stats()
    return report


def ice_connection(dtls: RTCDtlsTransport) -> Connection:
    """aioice's connection under the transport's ICE transport."""
    connection: Connection = dtls.transport._connection
    return connection


async def handle_rtp_packet(receiver: RTCRtpReceiver, packet: RtpPacket, arrival_ms: int) -> None:
    """aiortc's per-packet entry of a receiver (for receivers that are not ours)."""
    await receiver._handle_rtp_packet(packet, arrival_ms)


def extension_ids(extensions: HeaderExtensionsMap) -> HeaderExtensions:
    """The negotiated ids a configured `HeaderExtensionsMap` holds."""
    ids: HeaderExtensions = extensions._HeaderExtensionsMap__ids  # type: ignore[attr-defined]
    return ids


def use_rate_counter(estimator: RemoteBitrateEstimator, counter: RateCounter) -> None:
    """Give aiortc's REMB estimator another receive-rate counter."""
    estimator.incoming_bitrate = counter


# -- pylibsrtp ------------------------------------------------------------------------------


def srtp_handle(session: Session) -> Any:
    """The session's `srtp_t` for `srtp_lib.srtp_protect` / `srtp_unprotect`."""
    return session._srtp[0]


# -- aioice ---------------------------------------------------------------------------------

AIOICE_GET_HOST_ADDRESSES: Callable[[bool, bool], list[str]] = aioice.ice.get_host_addresses


def set_host_addresses_function(function: Callable[[bool, bool], list[str]]) -> None:
    """Replace aioice's module-level interface discovery (it has no per-connection knob)."""
    aioice.ice.get_host_addresses = function  # type: ignore[assignment]


ConnectionMade = Callable[[Any, asyncio.BaseTransport], None]


def stun_connection_made() -> ConnectionMade:
    return StunProtocol.connection_made


def set_stun_connection_made(function: ConnectionMade) -> None:
    """Wrap aioice's `StunProtocol.connection_made`, where every ICE socket is handed over."""
    StunProtocol.connection_made = function  # type: ignore[method-assign,assignment]


# -- asyncio (not aiortc, but just as private) ----------------------------------------------


def datagram_socket(transport: Any) -> socket.socket | None:
    """The socket of asyncio's selector datagram transport (None on other transports)."""
    sock: socket.socket | None = getattr(transport, "_sock", None)
    return sock


# Key of a selector transport's instance dict: set once the connection is lost.
CONN_LOST = "_conn_lost"


def has_add_reader(loop: Any) -> bool:
    return hasattr(loop, "_add_reader")


def add_reader(loop: Any, fd: int, callback: Callable[..., None], *args: Any) -> None:
    """`loop._add_reader`: replaces the reader a transport registered for `fd`."""
    loop._add_reader(fd, callback, *args)


# -- the RTP receiver ---------------------------------------------------------------------


class ReceiverInternals(RTCRtpReceiver):
    """aiortc's receiver, with the internals a forwarding receiver uses under our names.

    aiortc's `_handle_rtp_packet` (the per-packet entry) is routed to `handle_rtp`, which a
    subclass defines; `receive()` starts the RTCP loop and routing without the decoder thread.
    """

    # Declared (annotation only, no value) so that mypy checks the uses; see docs/media.md.
    _RTCRtpReceiver__codecs: dict[int, RTCRtpCodecParameters]
    _RTCRtpReceiver__rtx_ssrc: dict[int, int]
    _RTCRtpReceiver__remote_streams: dict[int, StreamStatistics]
    _RTCRtpReceiver__nack_generator: NackGenerator | None
    _RTCRtpReceiver__remote_bitrate_estimator: RemoteBitrateEstimator | None
    _RTCRtpReceiver__rtcp_ssrc: int | None
    _RTCRtpReceiver__rtcp_task: asyncio.Future[None] | None
    _RTCRtpReceiver__started: bool

    @property
    def negotiated_codecs(self) -> dict[int, RTCRtpCodecParameters]:
        return self._RTCRtpReceiver__codecs

    @property
    def rtx_ssrcs(self) -> dict[int, int]:
        """RTX SSRC -> the SSRC it repairs."""
        return self._RTCRtpReceiver__rtx_ssrc

    @property
    def remote_streams(self) -> dict[int, StreamStatistics]:
        """Per-SSRC statistics that aiortc's RTCP loop turns into receiver reports."""
        return self._RTCRtpReceiver__remote_streams

    @property
    def nack_generator(self) -> NackGenerator | None:
        return self._RTCRtpReceiver__nack_generator

    @property
    def bitrate_estimator(self) -> RemoteBitrateEstimator | None:
        return self._RTCRtpReceiver__remote_bitrate_estimator

    @property
    def rtcp_ssrc(self) -> int | None:
        return self._RTCRtpReceiver__rtcp_ssrc

    @property
    def receiving_enabled(self) -> bool:
        """aiortc's flag for a negotiated direction that includes receiving."""
        return bool(self._enabled)

    def set_rtcp_ssrc(self, ssrc: int) -> None:
        self._set_rtcp_ssrc(ssrc)

    async def receive(self, parameters: RTCRtpReceiveParameters) -> None:
        """Start receiving: aiortc's `receive()` minus the decoder thread it would start."""
        if self._RTCRtpReceiver__started:
            return
        codecs = self._RTCRtpReceiver__codecs
        for codec in parameters.codecs:
            if codec.payloadType is not None:
                codecs[codec.payloadType] = codec
        for encoding in parameters.encodings:
            if encoding.rtx and encoding.rtx.ssrc is not None and encoding.ssrc is not None:
                self._RTCRtpReceiver__rtx_ssrc[encoding.rtx.ssrc] = encoding.ssrc
        self.transport._register_rtp_receiver(self, parameters)
        self._RTCRtpReceiver__rtcp_task = asyncio.ensure_future(self._run_rtcp())
        self._RTCRtpReceiver__started = True
        self.on_receive()

    def on_receive(self) -> None:
        """Called once `receive()` has applied the negotiated parameters."""

    async def _handle_rtp_packet(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        # aiortc's entry point; media/direct_receive.py calls `handle_rtp` without a coroutine.
        self.handle_rtp(packet, arrival_time_ms)

    def handle_rtp(self, packet: RtpPacket, arrival_time_ms: int) -> None:
        raise NotImplementedError

    async def send_rtcp(self, packet: AnyRtcpPacket) -> None:
        await self._send_rtcp(packet)

    async def send_nack(self, media_ssrc: int, lost: list[int]) -> None:
        await self._send_rtcp_nack(media_ssrc, lost)

    async def send_pli(self, media_ssrc: int) -> None:
        await self._send_rtcp_pli(media_ssrc)


def receiver_never_decoded(receiver: RTCRtpReceiver) -> bool:
    """No decoder thread, nothing queued for one or for the track, and an untouched jitter
    buffer. For tests (not probed at start-up: production does not depend on them)."""
    track = receiver.track
    return (
        receiver._RTCRtpReceiver__decoder_thread is None  # type: ignore[attr-defined]
        and receiver._RTCRtpReceiver__decoder_queue.empty()  # type: ignore[attr-defined]
        and receiver._RTCRtpReceiver__jitter_buffer._origin is None  # type: ignore[attr-defined]
        and isinstance(track, RemoteStreamTrack)
        and track._queue.empty()
    )


# -- the RTP sender -------------------------------------------------------------------------


class SenderInternals(RTCRtpSender):
    """aiortc's sender, with the internals a forwarding sender uses under our names.

    aiortc's sender-report loop and getStats() read four name-mangled counters; here they are
    views of plain attributes the forwarding path counts in (`packets_forwarded`,
    `octets_forwarded`, `last_sent_ntp_time`, `last_rtp_timestamp`). `_run_rtp` (read, encode,
    packetize) idles; PLI/FIR from the subscriber call `on_keyframe_request`; a NACK asks
    `packet_for_retransmission` for the packet to put in aiortc's history first.
    """

    _RTCRtpSender__rtp_history: dict[int, RtpPacket]
    _RTCRtpSender__rtp_started: asyncio.Event
    _RTCRtpSender__rtp_exited: asyncio.Event

    packets_forwarded: int
    octets_forwarded: int
    last_sent_ntp_time: int

    @property
    def _RTCRtpSender__packet_count(self) -> int:
        return self.packets_forwarded

    @_RTCRtpSender__packet_count.setter
    def _RTCRtpSender__packet_count(self, value: int) -> None:
        self.packets_forwarded = value

    @property
    def _RTCRtpSender__octet_count(self) -> int:
        return self.octets_forwarded

    @_RTCRtpSender__octet_count.setter
    def _RTCRtpSender__octet_count(self, value: int) -> None:
        self.octets_forwarded = value

    @property
    def _RTCRtpSender__ntp_timestamp(self) -> int:
        return self.last_sent_ntp_time

    @_RTCRtpSender__ntp_timestamp.setter
    def _RTCRtpSender__ntp_timestamp(self, value: int) -> None:
        self.last_sent_ntp_time = value

    @property
    def _RTCRtpSender__rtp_timestamp(self) -> int:
        # The RTP timestamp the sender report pairs with its NTP time.
        return self.last_rtp_timestamp

    @_RTCRtpSender__rtp_timestamp.setter
    def _RTCRtpSender__rtp_timestamp(self, value: int) -> None:
        pass  # aiortc's initial 0; `last_rtp_timestamp` answers from then on

    @property
    def last_rtp_timestamp(self) -> int:
        return 0

    @property
    def ssrc(self) -> int:
        return int(self._ssrc)

    @property
    def rtx_ssrc(self) -> int:
        return int(self._rtx_ssrc)

    async def retransmit(self, sequence_number: int) -> None:
        """Serve a NACK for `sequence_number` as aiortc does when RTCP asks (tests)."""
        await self._retransmit(sequence_number)

    @property
    def sending_enabled(self) -> bool:
        """aiortc's flag for a negotiated direction that includes sending."""
        return bool(self._enabled)

    @property
    def stream_id(self) -> str:
        """The msid stream this sender's track is announced in."""
        return str(self._stream_id)

    @stream_id.setter
    def stream_id(self, value: str) -> None:
        self._stream_id = value

    async def _run_rtp(self, codec: RTCRtpCodecParameters) -> None:
        # Replaces aiortc's read-encode-packetize loop: packets arrive from the forwarding path.
        self._RTCRtpSender__rtp_started.set()
        try:
            await asyncio.get_running_loop().create_future()
        except asyncio.CancelledError:
            pass
        finally:
            self._RTCRtpSender__rtp_exited.set()

    def _send_keyframe(self) -> None:
        # aiortc calls this for PLI and FIR; it would only flag an encoder we do not run.
        self.on_keyframe_request()

    def on_keyframe_request(self) -> None:
        """The subscriber asked for a keyframe (PLI or FIR)."""

    async def _retransmit(self, sequence_number: int) -> None:
        # aiortc serves a NACK from its history of `RtpPacket`s (wrapping it in RTX when
        # negotiated); put the packet the subclass rebuilds there and let aiortc do the rest.
        index = sequence_number % RTP_HISTORY_SIZE
        history = self._RTCRtpSender__rtp_history
        packet = self.packet_for_retransmission(sequence_number)
        if packet is None:
            history.pop(index, None)
        else:
            history[index] = packet
        await super()._retransmit(sequence_number)

    def packet_for_retransmission(self, sequence_number: int) -> RtpPacket | None:
        return None


# -- the peer connection ----------------------------------------------------------------


class PeerConnectionInternals(RTCPeerConnection):
    """aiortc's peer connection whose transceiver factory builds a subclass's parts.

    `RTCPeerConnection.__createTransceiver` is the single place aiortc constructs senders and
    receivers, both for addTransceiver() and for m-sections created inside
    setRemoteDescription() when we answer. Max-bundle only: one ICE/DTLS transport.
    """

    _RTCPeerConnection__transceivers: list[RTCRtpTransceiver]
    _RTCPeerConnection__sctp: RTCSctpTransport | None
    _RTCPeerConnection__stream_id: str
    _RTCPeerConnection__createDtlsTransport: Callable[[], RTCDtlsTransport]

    @property
    def transceivers(self) -> list[RTCRtpTransceiver]:
        """aiortc's own list (getTransceivers() returns a copy)."""
        return self._RTCPeerConnection__transceivers

    def _RTCPeerConnection__createTransceiver(
        self,
        direction: str,
        kind: str,
        sender_track: object | None = None,
    ) -> RTCRtpTransceiver:
        if sender_track is not None:
            raise InternalError("the media server forwards packets; it sends no local tracks")
        transceivers = self._RTCPeerConnection__transceivers
        sctp = self._RTCPeerConnection__sctp
        if transceivers:
            dtls_transport = transceivers[0].receiver.transport
            bundled = True
        elif sctp is not None:
            dtls_transport = sctp.transport
            bundled = True
        else:
            dtls_transport = self._RTCPeerConnection__createDtlsTransport()
            self.on_new_transport(dtls_transport)
            bundled = False
        sender, receiver = self.make_parts(kind, dtls_transport)
        transceiver = RTCRtpTransceiver(
            direction=self.transceiver_direction(direction),
            kind=kind,
            sender=sender,
            receiver=receiver,
        )
        receiver._set_rtcp_ssrc(sender._ssrc)
        sender._stream_id = self._RTCPeerConnection__stream_id
        transceiver._bundled = bundled
        # Set here rather than through setCodecPreferences() afterwards: on the answerer the
        # codecs are negotiated inside setRemoteDescription(), right after this returns.
        transceiver._preferred_codecs = self.codec_preferences(kind)
        transceivers.append(transceiver)
        return transceiver

    def on_new_transport(self, dtls: RTCDtlsTransport) -> None:
        """The connection's one DTLS transport was made, before any receiver configures it."""

    def make_parts(self, kind: str, dtls: RTCDtlsTransport) -> tuple[RTCRtpSender, RTCRtpReceiver]:
        raise NotImplementedError

    def transceiver_direction(self, direction: str) -> str:
        return direction

    def codec_preferences(self, kind: str) -> list[RTCRtpCodecCapability]:
        return []


def transceiver_codecs(
    transceiver: RTCRtpTransceiver,
) -> tuple[list[RTCRtpCodecParameters], list[RTCRtpHeaderExtensionParameters]]:
    """The codecs and header extensions negotiated on `transceiver`."""
    return transceiver._codecs, transceiver._headerExtensions


def set_transceiver_codecs(
    transceiver: RTCRtpTransceiver,
    codecs: list[RTCRtpCodecParameters],
    extensions: list[RTCRtpHeaderExtensionParameters],
) -> None:
    transceiver._codecs = codecs
    transceiver._headerExtensions = extensions


# -- the start-up probe -------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One internal the fast path relies on: `attribute` of `owner` (a class or an instance)."""

    owner: str
    attribute: str


FAST_PATH_REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("RTCPeerConnection", "_RTCPeerConnection__createTransceiver"),
    Requirement("RTCPeerConnection", "_RTCPeerConnection__createDtlsTransport"),
    Requirement("RTCPeerConnection", "_RTCPeerConnection__transceivers"),
    Requirement("RTCPeerConnection", "_RTCPeerConnection__sctp"),
    Requirement("RTCPeerConnection", "_RTCPeerConnection__stream_id"),
    Requirement("RTCRtpTransceiver", "_codecs"),
    Requirement("RTCRtpTransceiver", "_headerExtensions"),
    Requirement("RTCRtpTransceiver", "_bundled"),
    Requirement("RTCRtpTransceiver", "_preferred_codecs"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__codecs"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__rtx_ssrc"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__remote_streams"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__nack_generator"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__remote_bitrate_estimator"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__rtcp_ssrc"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__rtcp_task"),
    Requirement("RTCRtpReceiver", "_RTCRtpReceiver__started"),
    Requirement("RTCRtpReceiver", "_enabled"),
    Requirement("RTCRtpReceiver", "_handle_rtp_packet"),
    Requirement("RTCRtpReceiver", "_run_rtcp"),
    Requirement("RTCRtpReceiver", "_send_rtcp"),
    Requirement("RTCRtpReceiver", "_send_rtcp_nack"),
    Requirement("RTCRtpReceiver", "_send_rtcp_pli"),
    Requirement("RTCRtpReceiver", "_set_rtcp_ssrc"),
    Requirement("RTCRtpSender", "_RTCRtpSender__rtp_history"),
    Requirement("RTCRtpSender", "_RTCRtpSender__rtp_started"),
    Requirement("RTCRtpSender", "_RTCRtpSender__rtp_exited"),
    Requirement("RTCRtpSender", "_RTCRtpSender__packet_count"),
    Requirement("RTCRtpSender", "_RTCRtpSender__octet_count"),
    Requirement("RTCRtpSender", "_RTCRtpSender__ntp_timestamp"),
    Requirement("RTCRtpSender", "_RTCRtpSender__rtp_timestamp"),
    Requirement("RTCRtpSender", "_ssrc"),
    Requirement("RTCRtpSender", "_enabled"),
    Requirement("RTCRtpSender", "_stream_id"),
    Requirement("RTCRtpSender", "_run_rtp"),
    Requirement("RTCRtpSender", "_send_keyframe"),
    Requirement("RTCRtpSender", "_retransmit"),
    Requirement("RTCDtlsTransport", "_state"),
    Requirement("RTCDtlsTransport", "_rx_srtp"),
    Requirement("RTCDtlsTransport", "_tx_srtp"),
    Requirement("RTCDtlsTransport", "_rtp_router"),
    Requirement("RTCDtlsTransport", "_rtp_header_extensions_map"),
    Requirement("RTCDtlsTransport", "_register_rtp_receiver"),
    Requirement("RTCDtlsTransport", "_send_rtp"),
    Requirement("RTCDtlsTransport", RX_BYTES),
    Requirement("RTCDtlsTransport", RX_PACKETS),
    Requirement("RTCDtlsTransport", TX_BYTES),
    Requirement("RTCDtlsTransport", TX_PACKETS),
    Requirement("RTCIceTransport", "_connection"),
    Requirement("aioice.Connection", "_nominated"),
    Requirement("aioice.StunProtocol", "connection_made"),
    Requirement("RtpRouter", "route_rtp"),
    Requirement("HeaderExtensionsMap", "_HeaderExtensionsMap__ids"),
    Requirement("RemoteBitrateEstimator", "incoming_bitrate"),
    Requirement("RateCounter", "add"),
    Requirement("RateCounter", "rate"),
    Requirement("RateCounter", "reset"),
    Requirement("pylibsrtp.Session", "_srtp"),
    Requirement("pylibsrtp._binding.lib", "srtp_protect"),
    Requirement("pylibsrtp._binding.lib", "srtp_unprotect"),
)


def probe(
    subjects: Mapping[str, object],
    requirements: Iterable[Requirement] = FAST_PATH_REQUIREMENTS,
    installed: Mapping[str, str] | None = None,
) -> list[str]:
    """What is missing or different: one line per changed version or missing internal.

    `subjects` maps each requirement's owner to the class or instance to look in.
    """
    problems: list[str] = []
    versions = installed if installed is not None else installed_versions()
    for package, built_on in BUILT_ON:
        found = versions.get(package)
        if found != built_on:
            problems.append(
                f"{package} {found or 'not'} installed; Hoiva's fast path was built on {built_on}"
            )
    for requirement in requirements:
        subject = subjects.get(requirement.owner)
        if subject is None:
            problems.append(f"{requirement.owner} could not be probed")
        elif not hasattr(subject, requirement.attribute):
            problems.append(f"{requirement.owner} has no {requirement.attribute}")
    return problems


def installed_versions() -> dict[str, str]:
    versions: dict[str, str] = {}
    for package, _ in BUILT_ON:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[package] = importlib.metadata.version(package)
    return versions


async def check_fast_path() -> None:
    """Raise `FastPathUnavailable` naming what changed, if anything the fast path needs did."""
    problems = await _probe_real_objects()
    if problems:
        raise FastPathUnavailable(
            "; ".join(problems)
            + " (set media.fast_path = false to forward through aiortc's public path)"
        )


async def _probe_real_objects() -> list[str]:
    # Real objects, because most of these are instance attributes set in constructors.
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        transceiver = pc.addTransceiver("video")
        dtls = transceiver.receiver.transport
        session = Session(Policy(key=bytes(30), ssrc_type=Policy.SSRC_ANY_INBOUND))
        subjects: dict[str, object] = {
            "RTCPeerConnection": pc,
            "RTCRtpTransceiver": transceiver,
            "RTCRtpReceiver": transceiver.receiver,
            "RTCRtpSender": transceiver.sender,
            "RTCDtlsTransport": dtls,
            "RTCIceTransport": dtls.transport,
            "aioice.Connection": getattr(dtls.transport, "_connection", None),
            "aioice.StunProtocol": StunProtocol,
            "RtpRouter": getattr(dtls, "_rtp_router", None),
            "HeaderExtensionsMap": HeaderExtensionsMap(),
            "RemoteBitrateEstimator": RemoteBitrateEstimator(),
            "RateCounter": RateCounter,
            "pylibsrtp.Session": session,
            "pylibsrtp._binding.lib": srtp_lib,
        }
        return probe(subjects)
    finally:
        await pc.close()
