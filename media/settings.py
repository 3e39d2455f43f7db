"""Media server settings: one frozen value, validated when the server is built."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from media.ice import IceServerConfig


@dataclass(frozen=True)
class MediaSettings:
    """Where the media server gathers candidates and what it tells peers.

    `bind_addresses`: host addresses ICE gathers on (process-wide, see media.ice); empty means
    aioice's own interface discovery.  `announce_address`: public address written into host
    candidates when the server sits behind 1:1 NAT.  `ice_servers`: STUN/TURN servers, usually
    none for a server with a public or announced address.  `fast_path`: forward encoded packets
    through aiortc's internals (off: decode and re-encode per subscriber with aiortc's public
    API).
    """

    bind_addresses: tuple[str, ...] = ("127.0.0.1",)
    announce_address: str | None = None
    ice_servers: tuple[IceServerConfig, ...] = ()
    # Packet-level forwarding over aiortc internals (media/aiortc_internals.py), checked at
    # start-up; off: aiortc's public API only (media/public_path.py), slower but independent
    # of aiortc's internals.
    fast_path: bool = True

    def validate(self) -> None:
        """Raise ValueError on an address that could never work."""
        for address in self.bind_addresses:
            if ipaddress.ip_address(address).is_unspecified:
                raise ValueError(f"bind address {address!r} is a wildcard; name an interface")
        if self.announce_address is not None:
            ipaddress.ip_address(self.announce_address)
