"""Test harness for media tests: the signaling seam played by the test, and a call helper."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtpPacket
from pylibsrtp import Session

from media import MediaRoom, MediaServer
from media.client_peer import ClientPeer
from media.direct_send import DirectRoute, direct_route
from media.events import MediaEvent
from media.forwarding import ForwardingSender
from media.srtp_buffer import SrtpBuffer
from media.synthetic import SyntheticVideoTrack

# Small frames keep several VP8 encoders and decoders within a 2-core budget.
WIDTH, HEIGHT, FPS = 320, 240, 30


@dataclass
class LoopbackSignal:
    """Our MediaSignal seam, played by the test: records events, answers offers via the peers."""

    peers: dict[str, ClientPeer] = field(default_factory=dict)
    events: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    room: MediaRoom | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def send_offer(self, participant_id: str, sdp: str) -> None:
        self.offers.append(participant_id)
        # Answer from a separate task, as a real client would: the room awaits us in order.
        task = asyncio.ensure_future(self._answer(participant_id, sdp))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def media_event(self, participant_id: str, event: MediaEvent) -> None:
        detail = {key: value for key, value in event.items() if key != "event"}
        self.events.append((participant_id, event["event"], detail))

    def events_for(self, participant_id: str, event: str) -> list[dict[str, object]]:
        return [d for p, e, d in self.events if p == participant_id and e == event]

    async def _answer(self, participant_id: str, sdp: str) -> None:
        assert self.room is not None
        answer = await self.peers[participant_id].accept_offer(sdp)
        await self.room.accept_answer(participant_id, answer)


@dataclass
class Call:
    """A media room plus the client peers that joined it."""

    server: MediaServer
    room: MediaRoom
    signal: LoopbackSignal

    async def join(self, participant_id: str, source_id: int) -> ClientPeer:
        peer = ClientPeer(video=SyntheticVideoTrack(source_id, fps=FPS, width=WIDTH, height=HEIGHT))
        self.signal.peers[participant_id] = peer
        answer = await self.room.connect(participant_id, await peer.create_offer())
        await peer.accept_answer(answer)
        return peer

    async def wait_event(self, participant_id: str, event: str, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.signal.events_for(participant_id, event):
            if loop.time() > deadline:
                raise TimeoutError(f"no {event!r} for {participant_id}: {self.signal.events}")
            await asyncio.sleep(0.01)


async def wait_for_source(peer: ClientPeer, mid: str, source_id: int, timeout: float) -> float:
    """Seconds until `peer` decodes a frame of `source_id` on `mid`."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while source_id not in peer.stats.sources(mid):
        if loop.time() - started > timeout:
            raise TimeoutError(f"no frame of source {source_id} on mid {mid}")
        await asyncio.sleep(0.005)
    return loop.time() - started


def record_video_payloads(call: Call, participant_id: str) -> list[bytes]:
    """Start recording the RTP payloads the server sends on this participant's video sender."""
    _, senders = call.room.forwarding_parts(participant_id)
    sender = next(s for s in senders if isinstance(s, ForwardingSender) and s.kind == "video")
    payloads: list[bytes] = []
    forward = sender.forward

    # A copy was sent when `forward` counted it (the direct path) or returned its bytes for
    # aiortc's path.
    def recording_forward(
        packet: RtpPacket, now: float, ntp_time: int, abs_send_time: int
    ) -> bytes | None:
        before = sender.packets_forwarded
        data = forward(packet, now, ntp_time, abs_send_time)
        if data is not None or sender.packets_forwarded > before:
            payloads.append(packet.payload)
        return data

    sender.forward = recording_forward  # type: ignore[method-assign]
    return payloads


class _RecordingSrtp(SrtpBuffer):
    """A route's SRTP buffer that keeps each RTP packet it protects, as built."""

    def __init__(self, session: Session, sent: list[bytes]) -> None:
        super().__init__(session)
        self.sent = sent

    def protect(self, length: int) -> memoryview:
        self.sent.append(bytes(self.view[:length]))
        return super().protect(length)


def watch_direct_sends(
    sender: ForwardingSender, lose: Callable[[bytes], bool] | None = None
) -> list[bytes]:
    """From now on, record the RTP packets (before SRTP) `sender` sends on its direct route, and
    drop at the socket those that `lose` picks (the RTP header stays readable under SRTP)."""
    sent: list[bytes] = []

    def watched_route(dtls: RTCDtlsTransport) -> DirectRoute | None:
        route = direct_route(dtls)
        if route is None:
            return None
        sendto = route.sendto

        def lossy_sendto(data: Any, addr: tuple[Any, ...]) -> Any:
            if lose is not None and lose(bytes(data)):
                return len(data)
            return sendto(data, addr)

        return dataclasses.replace(
            route, srtp=_RecordingSrtp(route.srtp.session, sent), sendto=lossy_sendto
        )

    sender.route_for = watched_route
    sender.forget_route()
    return sent


def stop_watching_direct_sends(sender: ForwardingSender) -> None:
    sender.route_for = direct_route
    sender.forget_route()


def out_of_order_runs(peer: ClientPeer) -> list[str]:
    """Runs of frames in which a source's counter did not go up, described (none: in order).

    On every track, each source's counters only go up (a source may come back later)."""
    disorders = []
    for mid, marks in peer.stats.marks.items():
        for source, run in itertools.groupby(marks, key=lambda m: m[0]):
            counters = [c for _, c in run]
            for at, (earlier, later) in enumerate(itertools.pairwise(counters)):
                if later <= earlier:
                    around = counters[max(0, at - 3) : at + 5]
                    disorders.append(f"track {mid}, source {source}: ... {around} ...")
                    break
    return disorders
