"""The bus between Hoiva instances: one port per concern, one bus chosen by configuration.

`LocalBus` (signaling/bus_local.py) is the complete single-process behaviour. `RedisBus`
(signaling/bus_redis.py) is a LocalBus that adds only what crossing instances needs, the way
LiveKit's RedisRouter wraps its LocalRouter: a presence registry with instance heartbeats and
expiry, routing of messages to the instance that holds a subject's socket, atomic room
ownership, staff fan-out, and request/reply between instances.

The port is split by concern, and each service depends on the narrowest part: `Messaging`
(deliver, publish, request), `PresenceRegistry` (where sockets are, call flags),
`Ownership` (instances, call and room ownership, the orphan sweep's claims, `Succession`)
and `ResumeTokens`. `Bus` is all of them plus joining and leaving. Nobody asks which bus it
is: what differs between one process and many is the buses' behaviour (a method that does
nothing with nobody else to tell, the `Succession` a bus provides).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

# The services name the bus's failure and message body (care_services/ports.py); the bus
# raises and carries exactly those.
from care_services.ports import Body as Body
from care_services.ports import BusUnavailable as BusUnavailable

CallFlagName = Literal["ringing", "in_call"]


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


class Succession(Protocol):
    """What becomes of calls an instance stops holding; decided by the bus, which knows
    whether another instance could carry them on (the runtime only supplies the work)."""

    def start_sweep(self, sweep: Sweeper) -> None:
        """Start the open-call sweep, where a call can outlive the instance that held it."""
        ...

    async def drain(self, hand_over: Callable[[], Awaitable[None]]) -> None:
        """On SIGTERM: move sockets and calls to the other instances, if any could take them."""
        ...


class Sweeper(Protocol):
    """The open-call sweep as a Succession starts it (care_services/call_sweep.py)."""

    def start(self) -> None: ...


class BusNode(Protocol):
    """Who this instance is on the bus, and whether the bus can be reached."""

    @property
    def instance_id(self) -> str:
        """This process life's id: never shared with an earlier life of the same instance."""
        ...

    @property
    def healthy(self) -> bool:
        """False while the coordination service is unreachable."""
        ...


class Messaging(BusNode, Protocol):
    """Messages to other instances: one subject's sockets, all staff, a request and its reply."""

    async def deliver(self, instance_id: str, subject_id: str, text: str) -> None:
        """Hand an encoded message to another instance for one subject's sockets."""
        ...

    async def publish_staff(self, text: str, roles: frozenset[str]) -> None:
        """Hand an encoded message to every other instance's staff sockets."""
        ...

    async def request(self, instance_id: str, op: str, body: Body, timeout: float) -> Body:
        """Ask another instance and wait for its reply (BusUnavailable if none comes)."""
        ...


class PresenceRegistry(BusNode, Protocol):
    """Where every subject's sockets are, and what call owners say about clients (mirrored in
    memory, so lookups are synchronous)."""

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


class Ownership(BusNode, Protocol):
    """Which instance holds which call and room, which instances live, and what happens to
    calls when one stops (heartbeats and takeover locks stay inside the bus)."""

    @property
    def succession(self) -> Succession: ...

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

    async def claim_orphan(self, room_id: str) -> bool:
        """Own a room that no live instance owns and no reaper will adopt (to end its call)."""
        ...

    async def save_call(self, call_id: str, snapshot: bytes) -> None:
        """Keep a call's state where a survivor can find it if this instance dies."""
        ...

    async def load_call(self, call_id: str) -> bytes | None:
        """A call's snapshot as its owner last saved it for survivors (none in one process)."""
        ...

    async def forget_call(self, call_id: str) -> None: ...

    async def calls_of(self, instance_id: str) -> list[str]:
        """Calls whose rooms an instance owned (to take over after it died)."""
        ...

    async def live_instances(self) -> list[str]:
        """Instances that are alive and not draining, this one included unless draining."""
        ...

    async def set_draining(self) -> None:
        """Take this instance out of the choice for new rooms."""
        ...


class ResumeTokens(Protocol):
    """Single-use tokens that let a client resume its session on any instance."""

    async def put_resume(self, token: str, subject_id: str, ttl_s: float) -> None:
        """Issue a single-use resume token; it outlives a restart of the coordination service."""
        ...

    async def take_resume(self, token: str) -> str | None:
        """The subject a resume token was issued to, if it is still valid."""
        ...


class Bus(Messaging, PresenceRegistry, Ownership, ResumeTokens, Protocol):
    """Every concern of the bus, and joining and leaving the deployment (the runtime's view)."""

    async def start(self, listener: BusListener) -> None: ...

    async def close(self) -> None:
        """Leave the cluster: other instances forget this one's sockets at once."""
        ...
