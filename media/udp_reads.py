"""Read every datagram that is waiting on an ICE socket, not one per event-loop turn.

asyncio's selector datagram transport reads exactly one datagram each time the selector
reports the socket readable, i.e. at most one per socket per loop turn. A peer that receives
many streams on one socket (a tablet in a 12-home room gets ~12 videos and ~12 audio streams,
600+ packets/s) needs more reads per second than a busy loop turns; the rest waits in the
kernel buffer until it overflows. Measured here: four headless peers and the server in one
process at 15 fps lost ~15 % of every stream to UDP receive-buffer errors, and the VP8
decoders then failed on incomplete frames. Draining up to `MAX_READS_PER_WAKEUP` datagrams
per wake-up (what libuv does) and a larger receive buffer for keyframe bursts fix it.

Like `ice.use_host_addresses` this is process-wide: it wraps aioice's `StunProtocol`
(aioice builds the sockets itself and offers no hook). It touches asyncio internals
(`_SelectorDatagramTransport._sock`, `._conn_lost`, `loop._add_reader`), all reached through
media/aiortc_internals.py; on an event loop without them the standard reading stays in place.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import Any

from media import aiortc_internals
from media.aiortc_internals import CONN_LOST, ConnectionMade

logger = logging.getLogger(__name__)

# Set on an ICE protocol by media.direct_receive: called first with every datagram read.
DIRECT_RECEIVE_ATTRIBUTE = "direct_rtp"

MAX_READS_PER_WAKEUP = 64
# 1 MiB holds ~700 full-size packets: a keyframe burst to a dozen subscribers.
RECEIVE_BUFFER_BYTES = 1 << 20

_original_connection_made: ConnectionMade | None = None


def install_draining_reads() -> None:
    """Make every ICE socket created from now on drain its queue on each wake-up."""
    global _original_connection_made
    if _original_connection_made is not None:
        return
    original = aiortc_internals.stun_connection_made()
    _original_connection_made = original

    def connection_made(protocol: Any, transport: asyncio.BaseTransport) -> None:
        original(protocol, transport)
        # The transport registers its own one-datagram reader with call_soon right after
        # this; ours must replace it, so it goes into the queue behind it.
        asyncio.get_running_loop().call_soon(_take_over_reads, transport)

    aiortc_internals.set_stun_connection_made(connection_made)


def uninstall_draining_reads() -> None:
    global _original_connection_made
    if _original_connection_made is not None:
        aiortc_internals.set_stun_connection_made(_original_connection_made)
        _original_connection_made = None


def _take_over_reads(transport: asyncio.BaseTransport) -> None:
    loop = asyncio.get_running_loop()
    sock = aiortc_internals.datagram_socket(transport)
    if transport.is_closing() or sock is None or not aiortc_internals.has_add_reader(loop):
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
    except OSError:
        logger.debug("could not enlarge the receive buffer of %s", sock)
    aiortc_internals.add_reader(loop, sock.fileno(), _drain, transport, sock)


def _drain(transport: Any, sock: socket.socket) -> None:
    protocol = transport.get_protocol()
    max_size = transport.max_size
    # A server connection's media skips aioice and aiortc's queue (media/direct_receive.py).
    direct = getattr(protocol, DIRECT_RECEIVE_ATTRIBUTE, None)
    # The transport's instance dict, read by the key aiortc_internals names (once per datagram).
    state = vars(transport)
    for _ in range(MAX_READS_PER_WAKEUP):
        if state[CONN_LOST]:
            return
        try:
            data, addr = sock.recvfrom(max_size)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            protocol.error_received(exc)
            return
        if direct is None or not direct(data, addr):
            protocol.datagram_received(data, addr)
