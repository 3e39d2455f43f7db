"""Headless users that remember what each of their sockets received, socket by socket.

docs/protocol.md promises `call.accepted` once per (re)connection: a test counts them per
socket, and reads each socket's welcome (was it `resumed`?).
"""

from __future__ import annotations

import asyncio

from client_kit.signaling import SignalingClient
from protocol.messages import CallAccepted, ServerMessage, Welcome
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD
from tests.scaleout.conftest import Cluster


class SocketLog:
    """Messages by the socket that received them, in the order the sockets were opened."""

    def __init__(self) -> None:
        self.sockets: dict[SignalingClient, list[ServerMessage]] = {}

    def note(self, signal: SignalingClient | None, message: ServerMessage | None = None) -> None:
        if signal is None:
            return
        received = self.sockets.setdefault(signal, [])
        if message is not None:
            received.append(message)

    def welcomes(self) -> list[Welcome]:
        return [s.welcome for s in self.sockets if s.welcome is not None]

    def accepted_per_socket(self) -> list[int]:
        return [sum(isinstance(m, CallAccepted) for m in got) for got in self.sockets.values()]

    def opened(self) -> int:
        return len(self.sockets)


class _SocketLogging:
    """Mixed into a headless client: keeps a SocketLog of every socket and what it heard."""

    signal: SignalingClient | None

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.by_socket = SocketLog()

    async def _connect(self) -> None:
        await super()._connect()  # type: ignore[misc]
        self.by_socket.note(self.signal)

    async def _on_message(self, message: ServerMessage) -> None:
        self.by_socket.note(self.signal, message)
        await super()._on_message(message)  # type: ignore[misc]


class LoggingTablet(_SocketLogging, HeadlessTablet):
    """A headless tablet that keeps a SocketLog."""


class LoggingNurse(_SocketLogging, HeadlessNurse):
    """A headless nurse that keeps a SocketLog."""


async def call_through(
    cluster: Cluster, nurse_url: str | list[str], tablet_url: str | list[str]
) -> tuple[LoggingNurse, LoggingTablet, str, str]:
    """A nurse calls a new client's tablet, both reconnecting on their own; media flows."""
    client, token = await cluster.add_client("Aino")
    nurse = LoggingNurse(nurse_url, "nurse1", NURSE_PASSWORD, reconnect=True)
    tablet = LoggingTablet(tablet_url, token, answer_after_s=0)
    await tablet.start()
    await nurse.start()
    call_id = await nurse.call(client.id)
    await asyncio.wait_for(tablet.in_call.wait(), 5)
    await asyncio.wait_for(nurse.accepted.wait(), 5)
    assert nurse.peer is not None and tablet.peer is not None
    await nurse.peer.wait_for_video_frames(20, timeout=10)
    await tablet.peer.wait_for_video_frames(20, timeout=10)
    return nurse, tablet, call_id, client.id
