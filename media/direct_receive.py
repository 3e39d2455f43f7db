"""Receiving a publisher's RTP without aioice's queue and aiortc's chain of coroutines.

aiortc receives each datagram through aioice's `StunProtocol.datagram_received` (which first
tries, and fails, to parse it as STUN), `Connection.data_received` (an asyncio.Queue), then
`RTCDtlsTransport._recv_next` (SRTP unprotect) and `_handle_rtp_data` (parse, route) into the
receiver's `_handle_rtp_packet`: a queue hand-off, a task wake-up and five coroutine frames per
packet, ahead of a fan-out that is itself plain calls (media/direct_send.py). On a server
with few subscribers per publisher that was the larger part of a packet's cost.

`DirectRtpReceive` does the same steps as plain calls, straight from the socket reader
(media/udp_reads.py), for SRTP that arrives on the connected DTLS transport's nominated pair
and is routed to a `ForwardingReceiver`. Everything else (STUN, DTLS, RTCP, a packet from
another address, a transport not connected yet) takes aiortc's path. The aiortc/aioice
internals this reads come from media/aiortc_internals.py.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media import aiortc_internals, ntp_clock
from media.aiortc_internals import (
    DTLS_CONNECTED,
    DTLS_STATE,
    RX_BYTES,
    RX_PACKETS,
    RX_SRTP,
    CandidatePair,
    RtpPacket,
    StunProtocol,
)
from media.forwarding import ForwardingReceiver
from media.rtp_parse import IndexedExtensionsMap, parse_rtp
from media.srtp_buffer import SrtpBuffer
from media.udp_reads import DIRECT_RECEIVE_ATTRIBUTE


class DirectRtpReceive:
    """The RTP receive path of one server-side DTLS transport, as plain calls."""

    __slots__ = (
        "_counters",
        "_dtls",
        "_extensions",
        "_nominated",
        "_pair",
        "_pair_address",
        "_protocol",
        "_route_rtp",
        "_srtp",
        "_tasks",
    )

    def __init__(
        self, dtls: RTCDtlsTransport, protocol: StunProtocol, extensions: IndexedExtensionsMap
    ) -> None:
        self._dtls = dtls
        # The transport's instance dict: its SRTP session and state, and the counters that
        # getStats() reports, read by the keys aiortc_internals names (as cheap as attributes).
        self._counters: dict[str, Any] = aiortc_internals.transport_counters(dtls)
        self._protocol = protocol
        self._extensions = extensions
        self._route_rtp: Callable[[RtpPacket], Any] = aiortc_internals.rtp_router(dtls).route_rtp
        # aioice's dict of nominated pairs (it keeps the one dict), and the pair last seen there.
        self._nominated: dict[int, CandidatePair] = aiortc_internals.nominated_pairs(dtls)
        self._pair: CandidatePair | None = None
        self._pair_address: tuple[Any, ...] | None = None
        self._srtp: SrtpBuffer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, data: bytes, addr: tuple[Any, ...]) -> bool:
        """Handle one datagram if it is this transport's SRTP; False: leave it to aiortc."""
        # RTP and RTCP both start 0b10; RTCP's second byte is its packet type, 192-223.
        if len(data) < 12 or not 127 < data[0] < 192 or 191 < data[1] < 224:
            return False
        counters = self._counters
        rx_srtp = counters[RX_SRTP]
        if rx_srtp is None or counters[DTLS_STATE] is not DTLS_CONNECTED:
            return False
        pair = self._nominated.get(1)
        if pair is not self._pair:
            if pair is None or pair.protocol is not self._protocol:
                return False
            self._pair = pair
            self._pair_address = pair.remote_addr
        if addr != self._pair_address:
            return False

        # From here on the packet is ours: unprotecting it advances SRTP's replay window.
        counters[RX_BYTES] += len(data)
        counters[RX_PACKETS] += 1
        arrival_time_ms = ntp_clock.current_ms()
        srtp = self._srtp
        if srtp is None or srtp.session is not rx_srtp:
            srtp = self._srtp = SrtpBuffer(rx_srtp)
        try:
            # Unprotected in place; the parsed packet holds copies (media/srtp_buffer.py).
            packet = parse_rtp(srtp.unprotect(data), self._extensions)
        except (pylibsrtp.Error, ValueError, struct.error):
            return True  # aiortc drops these too (and logs them at debug level)
        receiver = self._route_rtp(packet)
        if isinstance(receiver, ForwardingReceiver):
            receiver.handle_rtp(packet, arrival_time_ms)
        elif receiver is not None:
            task = asyncio.ensure_future(
                aiortc_internals.handle_rtp_packet(receiver, packet, arrival_time_ms)
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return True


def install_direct_receive(dtls: RTCDtlsTransport) -> bool:
    """Receive `dtls`'s RTP directly from its nominated pair's socket, where that is plain UDP."""
    pair = aiortc_internals.nominated_pairs(dtls).get(1)
    extensions = aiortc_internals.extensions_map(dtls)
    # A TURN allocation's protocol unwraps its own framing first: that stays on aiortc's path.
    if (
        pair is None
        or type(pair.protocol) is not StunProtocol
        or not isinstance(extensions, IndexedExtensionsMap)
    ):
        return False
    receive = DirectRtpReceive(dtls, pair.protocol, extensions)
    setattr(pair.protocol, DIRECT_RECEIVE_ATTRIBUTE, receive)
    return True
