"""What the care services need from the outside, as they name it: the transport satisfies these.

The services talk to people through a `Notifier` (the signaling hub offers it), hold calls and
rooms against other instances through a `CallOwnership` (the bus offers it), and address one
socket through a `Participant` (a signaling connection). None of these imports the transport:
signaling's classes satisfy the protocols structurally, and the composition root wires them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from care_sessions.errors import CareSessionError
from care_sessions.identity import Principal, Role
from care_sessions.presence import Presence
from protocol.messages import ServerMessage

Body = dict[str, Any]


class BusUnavailable(CareSessionError):
    """The coordination service (Redis) cannot be reached; the action may be retried later."""

    code = "unavailable"


class Participant(Protocol):
    """One live, authenticated socket as a service sees it: who, and a way to talk to them."""

    @property
    def id(self) -> int: ...

    @property
    def principal(self) -> Principal: ...

    @property
    def closed(self) -> bool: ...

    async def send(self, message: ServerMessage) -> None: ...

    async def send_text(self, text: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class Notifier(Protocol):
    """Talking to people wherever their sockets are (signaling.hub.SignalingHub offers it)."""

    async def send_to(self, subject_id: str, message: ServerMessage) -> bool:
        """Send to every socket of the subject; False when it has none anywhere."""
        ...

    async def broadcast_staff(self, message: ServerMessage, roles: Sequence[Role] = ()) -> None:
        """Send to the staff of every instance (or only the given roles)."""
        ...

    async def publish(self, topic: str, message: ServerMessage) -> None:
        """Send to the watchers of a topic on every instance."""
        ...

    def watch(self, conn: Participant, topic: str) -> None:
        """From now on the socket receives what is published on the topic."""
        ...

    def is_connected(self, subject_id: str) -> bool:
        """Whether the subject has a socket on any instance."""
        ...

    def presence_of(self, client_id: str) -> Presence: ...

    async def refresh_presence(self, client_id: str) -> None:
        """Recompute a client's presence after its calls or rooms changed."""
        ...

    @property
    def connection_count(self) -> int: ...

    def tablet_connections(self) -> Sequence[Participant]:
        """This instance's tablet sockets."""
        ...

    def principals_of_device(self, device_id: str) -> list[Principal]: ...


class CallOwnership(Protocol):
    """Which instance holds which call and room, shared by every instance (the bus offers it)."""

    @property
    def instance_id(self) -> str: ...

    @property
    def healthy(self) -> bool: ...

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        """Ask another instance and wait for its reply (BusUnavailable if none comes)."""
        ...

    async def engage(self, subject_ids: Sequence[str], call_id: str) -> list[str]:
        """Atomically mark subjects as in this call; returns those already in a live one."""
        ...

    async def release(self, subject_ids: Sequence[str], call_id: str) -> None: ...

    async def engaged_call(self, subject_id: str) -> str | None: ...

    async def claim_room(self, room_id: str, *, replacing: str | None = None) -> bool: ...

    async def room_owner(self, room_id: str) -> str | None: ...

    async def release_room(self, room_id: str) -> None: ...

    async def claim_orphan(self, room_id: str) -> bool: ...

    async def save_call(self, call_id: str, snapshot: bytes) -> None: ...

    async def load_call(self, call_id: str) -> bytes | None: ...

    async def forget_call(self, call_id: str) -> None: ...

    async def calls_of(self, instance_id: str) -> list[str]: ...

    async def live_instances(self) -> list[str]: ...


class LiveSessions(Protocol):
    """The live side of people, for the pages: presence, and cutting off a revoked device."""

    def presence_of(self, client_id: str) -> Presence: ...

    async def disconnect_device(self, device_id: str) -> None:
        """Close a revoked device's sockets and end its calls, on whichever instance."""
        ...
