"""ICE sockets drain every waiting datagram per wake-up (media/udp_reads.py).

Without it asyncio reads one datagram per socket per loop turn, and a tablet receiving a
whole room's streams on one socket loses packets whenever the loop is busy.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

from aioice import Candidate

from media.aiortc_internals import StunProtocol
from media.udp_reads import RECEIVE_BUFFER_BYTES, install_draining_reads


@dataclass
class _Receiver:
    """Stands in for aioice's Connection: collects what the protocol hands up."""

    data: list[bytes] = field(default_factory=list)

    def data_received(self, data: bytes, component: int) -> None:
        self.data.append(data)

    def protocol_lost(self, protocol: Any) -> None:
        pass


async def test_one_wakeup_reads_a_whole_burst_and_the_buffer_is_large() -> None:
    install_draining_reads()
    loop = asyncio.get_running_loop()
    receiver = _Receiver()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(receiver),  # type: ignore[arg-type]
        local_addr=("127.0.0.1", 0),
    )
    protocol.local_candidate = Candidate(
        foundation="1",
        component=1,
        transport="udp",
        priority=1,
        host="127.0.0.1",
        port=0,
        type="host",
    )
    try:
        await asyncio.sleep(0)  # let the take-over (queued behind the transport's reader) run
        address = transport.get_extra_info("sockname")
        sock = transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= RECEIVE_BUFFER_BYTES
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for index in range(40):
                # Not STUN (first byte >= 128, like RTP): handed to the receiver as data.
                sender.sendto(bytes([0x80, index]) + b"x" * 200, address)
        # A handful of loop turns: with one read per turn this would deliver a handful.
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(receiver.data) == 40
        assert [d[1] for d in receiver.data] == list(range(40))
    finally:
        transport.close()
