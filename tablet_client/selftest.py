"""The headless tablet's self-test: camera, microphone, speaker, media server and TURN.

The kiosk page runs the same checks in the browser (tablet_client/static/device.js); both
answer selftest.run with one SelftestCheck per check (docs/protocol.md, "Fleet").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

from media.client_peer import VideoSource
from media.ice import IceServerConfig
from media.ice_check import gather_candidate_types
from protocol.messages import SelftestCheck
from tablet_client.echo_test import EchoResult

Outcome = Literal["pass", "fail", "skipped"]
FRAME_TIMEOUT_S = 5.0
GATHER_TIMEOUT_S = 10.0


async def run_selftest(
    *,
    camera: Callable[[], VideoSource] | None,
    camera_busy: bool,
    ice_servers: Sequence[IceServerConfig],
    round_trip_ms: Callable[[], Awaitable[float | None]],
    echo: Callable[[], Awaitable[EchoResult]],
) -> list[SelftestCheck]:
    """Every check, each failing on its own: one broken part never hides the others."""
    return [
        await _camera(camera, camera_busy),
        # The headless tablet's microphone is the synthetic tone it sends in calls.
        SelftestCheck(name="microphone", outcome="pass", detail="synthetic audio source"),
        SelftestCheck(name="speaker", outcome="skipped", detail="a headless tablet plays no sound"),
        await _media_server(round_trip_ms, echo),
        await _turn(ice_servers),
    ]


async def _camera(factory: Callable[[], VideoSource] | None, busy: bool) -> SelftestCheck:
    if factory is None:
        return SelftestCheck(name="camera", outcome="fail", detail="no camera")
    if busy:
        # A V4L2 camera cannot be opened twice; the call shows it works.
        return SelftestCheck(name="camera", outcome="pass", detail="in use by the call")
    track = None
    try:
        track = factory()
        async with asyncio.timeout(FRAME_TIMEOUT_S):
            frame = await track.recv()
        size = f"{getattr(frame, 'width', '?')}x{getattr(frame, 'height', '?')}"
        return SelftestCheck(name="camera", outcome="pass", detail=f"a {size} frame")
    except Exception as exc:  # any camera failure is the finding, not a crash
        return SelftestCheck(name="camera", outcome="fail", detail=_short(exc))
    finally:
        if track is not None:
            track.stop()


async def _media_server(
    round_trip_ms: Callable[[], Awaitable[float | None]],
    echo: Callable[[], Awaitable[EchoResult]],
) -> SelftestCheck:
    """The whole media path both ways: a test picture sent to the media server comes back."""
    rtt = await round_trip_ms()
    if rtt is None:
        return SelftestCheck(name="media_server", outcome="fail", detail="no answer to ping")
    result = await echo()
    if not result.ok:
        return SelftestCheck(name="media_server", outcome="fail", detail=f"echo: {result.error}")
    took = f"{result.setup_s * 1000:.0f} ms" if result.setup_s is not None else "?"
    detail = f"echo in {took}, round trip {rtt:.0f} ms"
    return SelftestCheck(name="media_server", outcome="pass", detail=detail)


async def _turn(servers: Sequence[IceServerConfig]) -> SelftestCheck:
    turn = [s for s in servers if any(url.startswith(("turn:", "turns:")) for url in s.urls)]
    if not turn:
        return SelftestCheck(name="turn", outcome="skipped", detail="not configured")
    try:
        found = await gather_candidate_types(turn, relay_only=True, timeout_s=GATHER_TIMEOUT_S)
    except Exception as exc:
        return SelftestCheck(name="turn", outcome="fail", detail=_short(exc))
    relays = found.get("relay", 0)
    if not relays:
        return SelftestCheck(name="turn", outcome="fail", detail="no relay candidate")
    return SelftestCheck(name="turn", outcome="pass", detail=f"{relays} relay candidate(s)")


def _short(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)[:200]
