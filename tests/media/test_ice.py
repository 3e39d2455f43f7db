"""ICE policy: gathering addresses, explicit ICE server lists, announced addresses."""

from __future__ import annotations

import aioice.ice
import pytest

from media.ice import (
    IceServerConfig,
    restore_host_addresses,
    rewrite_candidates,
    to_rtc_configuration,
    use_host_addresses,
)

SDP = (
    "v=0\r\n"
    "m=audio 50000 UDP/TLS/RTP/SAVPF 96\r\n"
    "c=IN IP4 10.0.0.5\r\n"
    "a=candidate:1 1 udp 2130706431 10.0.0.5 50000 typ host\r\n"
    "a=candidate:2 1 udp 1694498815 203.0.113.9 50000 typ srflx raddr 10.0.0.5 rport 50000\r\n"
)


def test_host_addresses_replace_aioice_discovery_including_loopback() -> None:
    """aioice skips 127.0.0.1; our policy decides the addresses, by family."""
    use_host_addresses(["127.0.0.1", "::1"])
    assert aioice.ice.get_host_addresses(True, False) == ["127.0.0.1"]
    assert aioice.ice.get_host_addresses(True, True) == ["127.0.0.1", "::1"]
    restore_host_addresses()
    assert "127.0.0.1" not in aioice.ice.get_host_addresses(True, False)
    use_host_addresses(["127.0.0.1"])


def test_wildcard_bind_address_is_refused() -> None:
    with pytest.raises(ValueError):
        use_host_addresses(["0.0.0.0"])


def test_rtc_configuration_always_lists_ice_servers() -> None:
    """An empty list, never None: None makes aiortc use a public STUN server."""
    assert to_rtc_configuration([]).iceServers == []
    config = to_rtc_configuration(
        [IceServerConfig(urls=("turn:turn.example:3478",), username="u", credential="p")]
    )
    assert config.iceServers is not None
    [server] = config.iceServers
    assert (server.urls, server.username, server.credential) == (
        ["turn:turn.example:3478"],
        "u",
        "p",
    )


def test_rewrite_candidates_announces_public_address_for_host_candidates_only() -> None:
    rewritten = rewrite_candidates(SDP, "198.51.100.7")
    assert "a=candidate:1 1 udp 2130706431 198.51.100.7 50000 typ host\r\n" in rewritten
    assert "203.0.113.9 50000 typ srflx raddr 10.0.0.5" in rewritten
    assert "c=IN IP4 198.51.100.7\r\n" in rewritten
    assert rewrite_candidates(SDP, None) == SDP
