"""Can this machine gather ICE candidates, and does TURN hand out a relay? (tablet self-test)

A peer connection with one data channel is enough to make aiortc gather: it gathers every
candidate inside setLocalDescription (no trickle), so the local description then lists them
all. Nothing is sent to the media server; reaching the TURN server is the point of the relay
check.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from aiortc import RTCPeerConnection

from media.ice import IceServerConfig, to_rtc_configuration


def candidate_types(sdp: str) -> Counter[str]:
    """How many candidates of each type (host, srflx, prflx, relay) an SDP lists."""
    found: Counter[str] = Counter()
    for line in sdp.splitlines():
        if not line.startswith("a=candidate:"):
            continue
        fields = line.split()
        if "typ" in fields[:-1]:
            found[fields[fields.index("typ") + 1]] += 1
    return found


async def gather_candidate_types(
    servers: Sequence[IceServerConfig], *, relay_only: bool = False, timeout_s: float = 10.0
) -> Counter[str]:
    """Gather with these servers; an unreachable TURN server costs up to `timeout_s`."""
    pc = RTCPeerConnection(to_rtc_configuration(servers, relay_only=relay_only))
    try:
        pc.createDataChannel("selftest")
        offer = await pc.createOffer()
        async with asyncio.timeout(timeout_s):
            await pc.setLocalDescription(offer)
        description = pc.localDescription
        return candidate_types(description.sdp if description is not None else "")
    finally:
        await pc.close()
