"""One signaling connection as the services see it: a principal and a sink for messages."""

from __future__ import annotations

import itertools
from typing import Protocol

from care_sessions.identity import Principal
from protocol.messages import ServerMessage, dump_message

_ids = itertools.count(1)


class MessageSink(Protocol):
    """What a transport offers: the WebSocket handler implements it, tests may too."""

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class CloseCode:
    """WebSocket close codes Hoiva uses (docs/protocol.md lists them with their meaning)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008
    TOO_BIG = 1009
    REPLACED = 4000
    NOT_AUTHENTICATED = 4001
    REVOKED = 4003
    HELLO_TIMEOUT = 4008


class Connection:
    """A live, authenticated socket; services address people through it."""

    # One per socket, and one instance holds 15,000 sockets: no per-object __dict__.
    __slots__ = ("_sink", "closed", "id", "principal")

    def __init__(self, principal: Principal, sink: MessageSink) -> None:
        self.id = next(_ids)
        self.principal = principal
        self._sink = sink
        self.closed = False

    async def send(self, message: ServerMessage) -> None:
        await self.send_text(dump_message(message))

    async def send_text(self, text: str) -> None:
        """Send an encoded message (fan-out and other instances encode once for many)."""
        if self.closed:
            return
        try:
            await self._sink.send_text(text)
        except (ConnectionError, RuntimeError):
            # The socket went away under us; the reader side notices and cleans up.
            self.closed = True

    async def close(self, code: int, reason: str) -> None:
        if not self.closed:
            self.closed = True
            await self._sink.close(code, reason)

    def __repr__(self) -> str:
        return f"Connection({self.id}, {self.principal.role}:{self.principal.subject_id})"
