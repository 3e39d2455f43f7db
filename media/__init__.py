"""Media: the packet-forwarding media server, the client peer, synthetic sources, ICE policy.

The only package that imports aiortc, av, cv2 and aioice (docs/architecture.md).
"""

from media.errors import (
    CameraUnavailable,
    InvalidSdp,
    MediaError,
    NegotiationError,
    RoomClosed,
    UnknownParticipant,
)
from media.ice import IceServerConfig, rewrite_candidates, to_rtc_configuration, use_host_addresses
from media.room import MediaRoom, MediaSignal
from media.server import MediaServer
from media.settings import MediaSettings

__all__ = [
    "CameraUnavailable",
    "IceServerConfig",
    "InvalidSdp",
    "MediaError",
    "MediaRoom",
    "MediaServer",
    "MediaSettings",
    "MediaSignal",
    "NegotiationError",
    "RoomClosed",
    "UnknownParticipant",
    "rewrite_candidates",
    "to_rtc_configuration",
    "use_host_addresses",
]
