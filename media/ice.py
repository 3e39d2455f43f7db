"""ICE policy: the host addresses we gather on and announce, and the STUN/TURN servers we use."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCIceTransportPolicy

from media import aiortc_internals


def use_host_addresses(addresses: Sequence[str]) -> None:
    """Make every ICE agent in this process gather host candidates on exactly `addresses`.

    aioice enumerates interfaces in the module-level `aioice.ice.get_host_addresses` and skips
    127.0.0.1, so nothing can gather on loopback, and a server with several interfaces offers
    all of them.  aioice exposes no per-connection knob (aiortc builds the `Connection` itself),
    so the only seam is that module-level function: the setting is process-wide.  That matches
    how it is used: one media server per process, and tests/benchmarks where the server and its
    headless clients share the same loopback address.  An empty sequence restores aioice's own
    interface discovery.
    """
    if not addresses:
        # aioice's own discovery, kept so that tests (and a deployment that wants "every
        # interface") can go back to it.
        aiortc_internals.set_host_addresses_function(aiortc_internals.AIOICE_GET_HOST_ADDRESSES)
        return
    parsed = tuple(_parse_bind_address(address) for address in addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [
            str(ip)
            for ip in parsed
            if (ip.version == 4 and use_ipv4) or (ip.version == 6 and use_ipv6)
        ]

    aiortc_internals.set_host_addresses_function(get_host_addresses)


def restore_host_addresses() -> None:
    """Give host-address discovery back to aioice (every non-loopback interface)."""
    use_host_addresses(())


def _parse_bind_address(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    ip = ipaddress.ip_address(address)
    # A candidate must name a reachable address; a wildcard would be offered verbatim to peers.
    if ip.is_unspecified:
        raise ValueError(f"cannot gather ICE candidates on the wildcard address {address!r}")
    return ip


@dataclass(frozen=True)
class IceServerConfig:
    """One STUN or TURN server as configured: urls like 'stun:host:3478', 'turn:host:3478'."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = None


def to_rtc_configuration(
    servers: Sequence[IceServerConfig],
    *,
    bundle_policy: RTCBundlePolicy = RTCBundlePolicy.MAX_BUNDLE,
    relay_only: bool = False,
) -> RTCConfiguration:
    """Build an aiortc configuration that always names its ICE servers explicitly.

    aiortc substitutes a public Google STUN server when `iceServers` is None, and an unreachable
    STUN server blocks setLocalDescription for ~5 s (aiortc does not trickle).  So this always
    passes a list, empty when nothing is configured.  Max-bundle: one ICE/DTLS transport per peer
    connection, which is all our server answers with anyway.
    """
    return RTCConfiguration(
        iceServers=[
            RTCIceServer(
                urls=list(server.urls), username=server.username, credential=server.credential
            )
            for server in servers
        ],
        bundlePolicy=bundle_policy,
        # Relay only: gather no host candidates, so media must go through the TURN server
        # (what a client on a hostile network ends up doing; tests force it).
        iceTransportPolicy=RTCIceTransportPolicy.RELAY if relay_only else RTCIceTransportPolicy.ALL,
    )


def rewrite_candidates(sdp: str, announce_address: str | None) -> str:
    """Replace host-candidate addresses (and matching c= lines) with `announce_address`.

    For a server behind 1:1 NAT: it binds its private address but peers must be told the
    public one.  Ports are kept: 1:1 NAT maps them unchanged.
    """
    if announce_address is None:
        return sdp
    announced = ipaddress.ip_address(announce_address)
    family = "IP4" if announced.version == 4 else "IP6"
    newline = "\r\n" if "\r\n" in sdp else "\n"
    lines = sdp.split(newline)
    replaced: set[str] = set()
    for index, line in enumerate(lines):
        if not line.startswith("a=candidate:"):
            continue
        fields = line.split(" ")
        # a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type>
        if len(fields) >= 8 and fields[6] == "typ" and fields[7] == "host":
            replaced.add(fields[4])
            fields[4] = str(announced)
            lines[index] = " ".join(fields)
    for index, line in enumerate(lines):
        if line.startswith("c=IN "):
            parts = line.split(" ")
            if len(parts) == 3 and parts[2] in replaced:
                lines[index] = f"c=IN {family} {announced}"
    return newline.join(lines)
