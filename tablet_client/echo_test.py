"""An echo test from a headless client: offer media, get it back through the media server.

The synthetic probe (`hoiva probe`) runs one every few minutes on a socket of its own; a
headless tablet's self-test runs one over the socket it already has (a tablet's second socket
would replace its first). Setup time is measured from the start (for the probe: opening the
signaling socket) to the first decoded frame that came back, the moment a person would first
see the picture.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass

import aiohttp

from client_kit.link import ServerLink
from client_kit.signaling import SignalingClosed
from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from protocol.messages import EchoAnswer, EchoStart, EchoStop, Error, ServerMessage

_refs = itertools.count(1)


@dataclass(frozen=True)
class EchoResult:
    ok: bool
    setup_s: float | None  # start -> first echoed frame decoded
    frames: int
    error: str | None = None


class EchoRunner:
    """Runs echo tests over a socket whose reader hands every message to `handle` first."""

    def __init__(self, link: ServerLink) -> None:
        self._link = link
        self._waiting: dict[str, asyncio.Future[EchoAnswer]] = {}

    def handle(self, message: ServerMessage) -> bool:
        """True when the message was an echo test's (its answer, or an error about it)."""
        if isinstance(message, EchoAnswer | Error) and message.ref in self._waiting:
            future = self._waiting.pop(message.ref)
            if not future.done():
                if isinstance(message, EchoAnswer):
                    future.set_result(message)
                else:
                    future.set_exception(RuntimeError(f"{message.code}: {message.message}"))
            return True
        return False

    async def run(
        self,
        *,
        frames: int = 10,
        timeout_s: float = 20.0,
        relay_only: bool = False,
        started: float | None = None,
    ) -> EchoResult:
        """One echo test; never raises for a failure of the service, it reports it."""
        started = time.monotonic() if started is None else started
        ref = f"echo-{next(_refs)}"
        future: asyncio.Future[EchoAnswer] = asyncio.get_running_loop().create_future()
        self._waiting[ref] = future
        peer: ClientPeer | None = None
        try:
            async with asyncio.timeout(timeout_s):
                if self._link.signal is None:
                    raise SignalingClosed(None)
                peer = ClientPeer(
                    ice_servers=self._link.ice_servers,
                    video=SyntheticVideoTrack(source_id=77),
                    relay_only=relay_only,
                )
                await self._link.send(EchoStart(ref=ref, sdp=await peer.create_offer()))
                answer = await future
                await peer.accept_answer(answer.sdp)
                await peer.wait_for_video_frames(frames, timeout=timeout_s)
                first = peer.stats.first_video_frame_at
                await self._link.send(EchoStop(echo_id=answer.echo_id))
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
            self._waiting.pop(ref, None)
            if peer is not None:
                await peer.close()


async def run_echo_test(
    server_url: str,
    token: str | None,
    *,
    frames: int = 10,
    timeout_s: float = 20.0,
    relay_only: bool = False,
    http: aiohttp.ClientSession | None = None,
) -> EchoResult:
    """An echo test on a socket of its own (the probe's)."""
    started = time.monotonic()
    link = ServerLink(server_url, agent="hoiva-echo/0.1", http=http)
    runner = EchoRunner(link)

    async def on_message(message: ServerMessage) -> None:
        runner.handle(message)

    try:
        async with asyncio.timeout(timeout_s):
            await link.open(on_message, token=token)
        left = max(0.1, timeout_s - (time.monotonic() - started))
        return await runner.run(
            frames=frames, timeout_s=left, relay_only=relay_only, started=started
        )
    except TimeoutError:
        return EchoResult(False, None, 0, f"no welcome within {timeout_s:.0f} s")
    except (OSError, aiohttp.ClientError, SignalingClosed) as exc:
        return EchoResult(False, None, 0, str(exc) or type(exc).__name__)
    finally:
        await link.close()
