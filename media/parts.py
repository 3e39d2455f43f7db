"""What a room, its budget, quality sampling and insight need of a connection's media parts.

Two paths implement them: the fast path's `ForwardingReceiver`/`ForwardingSender`
(media/forwarding.py, packet-level forwarding over aiortc internals) and the public path's
`RelayReceiver`/`RelaySender` (media/public_path.py, aiortc's public API only), chosen by
`MediaSettings.fast_path`. A room uses one path for all its connections.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from aiortc import RTCStatsReport

from media.aiortc_internals import RtpPacket

# Called on the event loop with each packet a publisher sends; must not block (media/analysis.py).
PacketSink = Callable[[RtpPacket], None]


class Publisher(Protocol):
    """The server's receiver of one participant's audio or video."""

    @property
    def media_kind(self) -> str: ...

    @property
    def remb_cap(self) -> int | None: ...

    @property
    def bytes_received(self) -> int: ...

    @property
    def packets_received(self) -> int: ...

    @property
    def forwarding(self) -> bool: ...

    @property
    def keyframe_requests_sent(self) -> int: ...

    def set_forwarding(self, enabled: bool) -> None:
        """Stop or resume passing this publisher on to its subscribers (host mute)."""

    def loss_counters(self) -> tuple[int, int]:
        """(packets expected, packets received) of the publisher's media stream so far."""

    def jitter_seconds(self) -> float:
        """Interarrival jitter of the publisher's media stream."""

    def set_remb_cap(self, bitrate: int | None) -> None:
        """Cap the bitrate asked of the publisher (group-room hints)."""

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (throttled)."""

    def add_packet_sink(self, sink: PacketSink) -> None:
        """Also hand every packet the publisher sends to `sink` (fast path only)."""

    def remove_packet_sink(self, sink: PacketSink) -> None: ...


class Subscriber(Protocol):
    """The server's sender of one publisher's audio or video to one participant."""

    @property
    def kind(self) -> str: ...

    @property
    def paused(self) -> bool: ...

    @property
    def started(self) -> bool:
        """True once negotiated and connected."""

    @property
    def source(self) -> Publisher | None: ...

    @property
    def octets_forwarded(self) -> int:
        """Payload octets sent so far (what sender reports count)."""

    @property
    def stream_id(self) -> str: ...

    @stream_id.setter
    def stream_id(self, value: str) -> None: ...

    def attach(self, source: Publisher | None) -> None:
        """Send `source`'s media from now on (None: send nothing)."""

    def set_paused(self, paused: bool) -> None:
        """Stop sending (bandwidth budget), or resume."""

    async def getStats(self) -> RTCStatsReport: ...
