"""Sending a forwarded packet without five coroutine frames per copy.

aiortc sends RTP through `RTCDtlsTransport._send_rtp` (SRTP protect) -> `RTCIceTransport._send`
-> aioice `Connection.send` -> `sendto` -> `StunProtocol.send_data` -> the UDP transport's
`sendto`. Every step is a coroutine that never suspends; on a server that makes a copy per
subscriber per packet, those frames are a fifth of the cost of a copy (bench/sfu.py). Here the
same steps run as plain calls when the selected pair is a direct UDP pair; anything else (a
TURN relay, a transport not connected yet) returns False and the caller takes aiortc's path.
The aiortc/aioice internals read here are listed in docs/media.md.
"""

from __future__ import annotations

from aioice.ice import StunProtocol
from aiortc.rtcdtlstransport import RTCDtlsTransport, State


def send_rtp_now(dtls: RTCDtlsTransport, data: bytes) -> bool:
    """Protect and send one RTP packet at once; False: use `await dtls._send_rtp(data)`."""
    if dtls._state is not State.CONNECTED:
        return False
    pair = dtls.transport._connection._nominated.get(1)
    if pair is None:
        return False
    protocol = pair.protocol
    # Exactly aioice's host/srflx protocol: a TURN allocation wraps data in its own framing.
    if type(protocol) is not StunProtocol or protocol.transport is None:
        return False
    protected = dtls._tx_srtp.protect(data)
    protocol.transport.sendto(protected, pair.remote_addr)
    # The transport's own counters, which getStats() reports (name-mangled privates).
    counters = vars(dtls)
    counters["_RTCDtlsTransport__tx_bytes"] += len(protected)
    counters["_RTCDtlsTransport__tx_packets"] += 1
    return True
