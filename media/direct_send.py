"""Where forwarded copies go: a subscriber transport's SRTP session and UDP socket, found once.

aiortc sends RTP through `RTCDtlsTransport._send_rtp` (SRTP protect) -> `RTCIceTransport._send`
-> aioice `Connection.send` -> `sendto` -> `StunProtocol.send_data` -> the UDP transport's
`sendto`. Every step is a coroutine that never suspends; on a server that makes a copy per
subscriber per packet, those frames were a fifth of the cost of a copy (bench/sfu.py). A
`DirectRoute` holds what those steps look up (the SRTP session, the nominated pair's socket
and address) for as long as the pair stays nominated and DTLS connected; the forwarding path
builds each copy inside the route's SRTP buffer (media/srtp_buffer.py) and sends it with one
`sendto`. Anything else (a TURN relay, a transport not connected yet) has no route and takes
aiortc's path. The aiortc/aioice/asyncio internals this reads come from
media/aiortc_internals.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport

from media import aiortc_internals
from media.aiortc_internals import (
    DTLS_CONNECTED,
    DTLS_STATE,
    TX_BYTES,
    TX_PACKETS,
    CandidatePair,
    StunProtocol,
)
from media.srtp_buffer import SrtpBuffer

# sendto(data, address) of the pair's socket.
SendTo = Callable[[Any, tuple[Any, ...]], Any]


@dataclasses.dataclass(slots=True)
class DirectRoute:
    """One connected transport's way out for forwarded RTP: protect in `srtp`, then `sendto`."""

    dtls: RTCDtlsTransport
    pair: CandidatePair
    # aioice's dict of nominated pairs (by component): a different pair there ends the route.
    nominated: dict[int, CandidatePair]
    srtp: SrtpBuffer
    sendto: SendTo
    addr: tuple[Any, ...]
    # The transport's instance dict: its state, and the counters getStats() reports.
    counters: dict[str, Any]

    def is_current(self) -> bool:
        return self.counters[DTLS_STATE] is DTLS_CONNECTED and self.nominated.get(1) is self.pair

    def send(self, length: int) -> None:
        """Protect the RTP packet in `srtp.view[:length]` and send it (OSError, pylibsrtp.Error)."""
        protected = self.srtp.protect(length)
        self.sendto(protected, self.addr)
        counters = self.counters
        counters[TX_BYTES] += len(protected)
        counters[TX_PACKETS] += 1


def direct_route(dtls: RTCDtlsTransport) -> DirectRoute | None:
    """The route of `dtls`'s forwarded copies where its pair is plain UDP; None: aiortc's path."""
    tx_srtp = aiortc_internals.tx_srtp(dtls)
    if not aiortc_internals.dtls_connected(dtls) or tx_srtp is None:
        return None
    nominated = aiortc_internals.nominated_pairs(dtls)
    pair = nominated.get(1)
    if pair is None:
        return None
    protocol = pair.protocol
    # Exactly aioice's host/srflx protocol: a TURN allocation wraps data in its own framing.
    if type(protocol) is not StunProtocol or protocol.transport is None:
        return None
    # The socket itself where asyncio's selector transport has one: its `sendto` wrapper only
    # adds checks and a queue for a full buffer, and a real-time copy that finds the kernel
    # buffer full is better dropped (the subscriber NACKs it) than queued.
    sock = aiortc_internals.datagram_socket(protocol.transport)
    sendto: SendTo = sock.sendto if sock is not None else protocol.transport.sendto
    return DirectRoute(
        dtls=dtls,
        pair=pair,
        nominated=nominated,
        srtp=SrtpBuffer(tx_srtp),
        sendto=sendto,
        addr=pair.remote_addr,
        counters=aiortc_internals.transport_counters(dtls),
    )
