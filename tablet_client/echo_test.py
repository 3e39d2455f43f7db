"""An echo test from a headless client: offer media, get it back through the media server.

The synthetic probe (`hoiva probe`) runs one every few minutes; a headless tablet's self-test
runs one too. Setup time is measured from opening the signaling socket to the first decoded
frame that came back, the same moment a person would first see the picture.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import aiohttp

from media.client_peer import ClientPeer
from media.ice import IceServerConfig
from media.synthetic import SyntheticVideoTrack
from signaling.client import SignalingClient, SignalingClosed
from signaling.protocol import EchoAnswer, EchoStart, EchoStop, Error, ServerMessage


@dataclass(frozen=True)
class EchoResult:
    ok: bool
    setup_s: float | None  # socket opened -> first echoed frame decoded
    frames: int
    error: str | None = None


async def run_echo_test(
    server_url: str,
    token: str | None,
    *,
    frames: int = 10,
    timeout_s: float = 20.0,
    relay_only: bool = False,
    http: aiohttp.ClientSession | None = None,
) -> EchoResult:
    """One echo test; never raises for a failure of the service, it reports it."""
    started = time.monotonic()
    ws_url = server_url.rstrip("/").replace("http", "ws", 1) + "/ws"
    signal = SignalingClient(ws_url, token=token, http=http, agent="hoiva-echo/0.1")
    reply: asyncio.Future[EchoAnswer] = asyncio.get_running_loop().create_future()
    peer: ClientPeer | None = None

    async def on_message(message: ServerMessage) -> None:
        if reply.done():
            return
        if isinstance(message, EchoAnswer):
            reply.set_result(message)
        elif isinstance(message, Error) and message.ref == "echo":
            reply.set_exception(RuntimeError(f"{message.code}: {message.message}"))

    try:
        async with asyncio.timeout(timeout_s):
            welcome = await signal.connect(on_message)
            ice = [
                IceServerConfig(urls=tuple(s.urls), username=s.username, credential=s.credential)
                for s in welcome.ice_servers
            ]
            peer = ClientPeer(
                ice_servers=ice, video=SyntheticVideoTrack(source_id=77), relay_only=relay_only
            )
            await signal.send(EchoStart(ref="echo", sdp=await peer.create_offer()))
            answer = await reply
            await peer.accept_answer(answer.sdp)
            await peer.wait_for_video_frames(frames, timeout=timeout_s)
            first = peer.stats.first_video_frame_at
            await signal.send(EchoStop(echo_id=answer.echo_id))
        return EchoResult(
            ok=True,
            setup_s=None if first is None else first - started,
            frames=sum(peer.stats.video_frames.values()),
        )
    except TimeoutError:
        received = sum(peer.stats.video_frames.values()) if peer else 0
        return EchoResult(False, None, received, f"no echo within {timeout_s:.0f} s")
    except (OSError, aiohttp.ClientError, SignalingClosed, RuntimeError) as exc:
        return EchoResult(False, None, 0, str(exc) or type(exc).__name__)
    finally:
        if peer is not None:
            await peer.close()
        await signal.close()
