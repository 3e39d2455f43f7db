"""The bus between Hoiva instances: one interface, chosen by configuration.

`LocalBus` (signaling/bus_local.py) is the embedded default: one process, everything in
memory. `RedisBus` (signaling/bus_redis.py) adds only the cross-instance parts on top of the
same local state, the way LiveKit's RedisRouter wraps its LocalRouter: a presence registry
with instance heartbeats and expiry, routing of messages to the instance that holds a
subject's socket, atomic room ownership, staff fan-out, and request/reply between instances.

The hub and the call service speak only to `Bus`; they never see Redis.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from care_sessions.errors import CareSessionError

CallFlagName = Literal["ringing", "in_call"]
Body = dict[str, Any]


class BusUnavailable(CareSessionError):
    """The coordination service (Redis) cannot be reached; the action may be retried later."""

    code = "unavailable"


@dataclass(frozen=True)
class Location:
    """A subject's socket appeared on (up) or left (down) an instance."""

    subject_id: str
    instance_id: str
    up: bool
    # Tablets hold one socket at a time, so a newer one anywhere replaces the others.
    exclusive: bool
    # Cluster-wide registration order: the socket with the higher number is the newer one.
    seq: int
    at: float  # unix time of the change, so every instance shows the same last_seen


@dataclass(frozen=True)
class CallFlag:
    """What the instance that owns a client's call says about it: ringing, in a call, or not."""

    client_id: str
    flag: CallFlagName | None
    instance_id: str
    at: float


class BusListener(Protocol):
    """What an instance does with what arrives from the others (signaling/cluster.py)."""

    async def on_deliver(self, subject_id: str, text: str) -> None:
        """Send an already encoded message to the subject's sockets on this instance."""
        ...

    async def on_staff(self, text: str, roles: frozenset[str]) -> None:
        """Send an already encoded message to this instance's staff sockets (roles: all)."""
        ...

    async def on_location(self, event: Location) -> None:
        """Another instance registered or lost a socket (the mirror is already updated)."""
        ...

    async def on_call_flag(self, event: CallFlag) -> None:
        """Another instance changed a client's call flag (the mirror is already updated)."""
        ...

    async def on_request(self, op: str, body: Body) -> Body:
        """Serve a request from another instance; the reply travels back to it."""
        ...

    async def on_instance_lost(self, instance_id: str) -> None:
        """An instance died; called on exactly one survivor, after its sockets were removed."""
        ...

    async def on_resynced(self, subjects: set[str]) -> None:
        """The bus reconnected and reloaded its mirrors; these subjects' state may differ."""
        ...

    async def on_rooms_lost(self, room_ids: set[str]) -> None:
        """Another instance owns these rooms now (it took them over while this one was cut off)."""
        ...


class Bus(Protocol):
    """Presence, routing and ownership shared by every instance of one Hoiva deployment."""

    @property
    def instance_id(self) -> str: ...

    @property
    def clustered(self) -> bool:
        """False for the in-process bus: there are no other instances to ask."""
        ...

    @property
    def healthy(self) -> bool:
        """False while the coordination service is unreachable."""
        ...

    async def start(self, listener: BusListener) -> None: ...

    async def close(self) -> None:
        """Leave the cluster: other instances forget this one's sockets at once."""
        ...

    # ---- presence registry (mirrored in memory, so lookups are synchronous) --------------

    def remote_instances(self, subject_id: str) -> frozenset[str]:
        """Other instances holding a socket of this subject."""
        ...

    def remote_flag(self, client_id: str) -> CallFlag | None:
        """A client's call flag as set by another instance."""
        ...

    def remote_subjects(self) -> Mapping[str, frozenset[str]]:
        """Every subject connected elsewhere, with the instances holding its sockets."""
        ...

    async def connection_up(self, subject_id: str, *, exclusive: bool) -> int:
        """Announce this instance's first socket of a subject; returns its sequence number."""
        ...

    async def connection_down(self, subject_id: str) -> None:
        """Announce that this instance's last socket of a subject closed."""
        ...

    async def set_call_flag(self, client_id: str, flag: CallFlagName | None) -> None: ...

    # ---- routing -------------------------------------------------------------------------

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        """Hand an encoded message to another instance for one subject's sockets."""
        ...

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        """Hand an encoded message to every other instance's staff sockets."""
        ...

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        """Ask another instance and wait for its reply (BusUnavailable if none comes)."""
        ...

    # ---- calls and rooms -----------------------------------------------------------------

    async def engage(self, subject_ids: Sequence[str], call_id: str) -> list[str]:
        """Atomically mark subjects as in this call; returns those already in a live one."""
        ...

    async def release(self, subject_ids: Sequence[str], call_id: str) -> None:
        """Clear the marks engage() set, if they still name this call."""
        ...

    async def engaged_call(self, subject_id: str) -> str | None: ...

    async def claim_room(self, room_id: str, *, replacing: str | None = None) -> bool:
        """Own a media room (SET NX with expiry); with `replacing`, take it from that owner."""
        ...

    async def room_owner(self, room_id: str) -> str | None: ...

    async def release_room(self, room_id: str) -> None: ...

    async def save_call(self, call_id: str, snapshot: bytes) -> None:
        """Keep a call's state where a survivor can find it if this instance dies."""
        ...

    async def load_call(self, call_id: str) -> bytes | None: ...

    async def forget_call(self, call_id: str) -> None: ...

    async def calls_of(self, instance_id: str) -> list[str]:
        """Calls whose rooms an instance owned (to take over after it died)."""
        ...

    # ---- instances and resumption --------------------------------------------------------

    async def live_instances(self) -> list[str]:
        """Instances that are alive and not draining, this one included unless draining."""
        ...

    async def set_draining(self) -> None:
        """Take this instance out of the choice for new rooms."""
        ...

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None: ...

    async def take_resume(self, token: str) -> str | None:
        """The subject a resume token was issued to, if it is still valid."""
        ...
