"""Who is connected: the registry of sockets, client presence, and fan-out to staff.

The hub holds this instance's sockets and asks the bus (signaling/bus.py) about everyone
else's. With the in-process bus that is nobody, and the hub behaves as a single server; with
the Redis bus a message for a subject whose socket is on another instance is handed to that
instance, staff messages reach the staff of every instance, and each instance computes every
client's presence from the same shared facts (where its sockets are, what its call owner
says), so every dashboard shows the same roster.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from care_services.ports import Participant
from care_services.presence import CallPresence
from care_sessions.clock import Clock
from care_sessions.identity import Principal, Role
from care_sessions.ports import CareStore
from care_sessions.presence import Presence, PresenceBook, PresenceStatus
from protocol.messages import (
    PresenceEntry,
    PresenceSnapshot,
    PresenceUpdate,
    ServerMessage,
    dump_message,
)
from signaling.bus import Bus, BusUnavailable, CallFlagName, Location
from signaling.bus_local import LocalBus
from signaling.connection import CloseCode, Connection

log = logging.getLogger(__name__)
# Staff fan-out to the watchers of a topic rides on the staff channel (locally and between
# instances) with this prefix in place of a role name.
TOPIC_PREFIX = "topic:"


class TabletListener(Protocol):
    """Told when a tablet's socket comes up or goes away on this instance (the fleet)."""

    async def tablet_up(self, conn: Connection) -> None: ...

    async def tablet_down(self, conn: Connection) -> None: ...


class SignalingHub:
    """Tracks connections by subject; the call and help services address people through it."""

    def __init__(
        self,
        store: CareStore,
        clock: Clock,
        bus: Bus | None = None,
        flags: CallPresence | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.bus: Bus = bus or LocalBus()
        self._by_subject: dict[str, list[Connection]] = {}
        self._staff: set[Connection] = set()
        # Cluster-wide registration order of this instance's tablet sockets (by Connection.id).
        self._seq: dict[int, int] = {}
        self.presence = PresenceBook()
        self._names: dict[str, str] = {}
        # What this instance's calls and rooms say about a client (care_services/presence.py).
        self._flags = flags or CallPresence()
        # The call flag this instance last published per client, so refresh_presence tells
        # the other instances only what changed.
        self._published_flags: dict[str, CallFlagName] = {}
        # Staff sockets that asked to follow a topic (e.g. "fleet"), and who else wants to
        # know about tablets coming and going.
        self._watchers: dict[str, set[Participant]] = {}
        self._tablet_listeners: list[TabletListener] = []

    # ---- registry ------------------------------------------------------------------------

    async def register(self, conn: Connection) -> None:
        principal = conn.principal
        subject = principal.subject_id
        if principal.role is Role.TABLET:
            # One live socket per client: a tablet that reconnects replaces its stale socket.
            for old in self._by_subject.get(subject, []):
                await old.close(CloseCode.REPLACED, "replaced by a newer connection")
                self._forget(old)
        first_here = not self._by_subject.get(subject)
        self._by_subject.setdefault(subject, []).append(conn)
        if first_here:
            try:
                self._seq[conn.id] = await self.bus.connection_up(
                    subject, exclusive=principal.role is Role.TABLET
                )
            except BusUnavailable:
                # The bus announces this socket again when it heals; the socket works meanwhile.
                log.info("registered %s locally only: the bus is unavailable", subject)
        if principal.is_staff:
            self._staff.add(conn)
            await conn.send(await self.presence_snapshot())
        elif principal.role is Role.TABLET:
            client = await self._store.client(subject)
            if client is not None:
                self._names[client.id] = client.display_name
            await self.refresh_presence(subject)
            if principal.device_id:
                await self._touch_device(principal.device_id)
            await self._tell_listeners(conn, up=True)

    async def _touch_device(self, device_id: str) -> None:
        """Note when the tablet was last seen; bookkeeping that must never cost a socket."""
        try:
            await self._store.touch_device(device_id, self._clock.now())
        except Exception:
            # e.g. SQLite "database is locked" when thousands of tablets reconnect at once
            # after an instance died: the socket works, only "last seen" is a little older.
            log.warning("could not note that device %s was seen", device_id, exc_info=True)

    async def unregister(self, conn: Connection) -> None:
        self._forget(conn)
        principal = conn.principal
        if self._by_subject.get(principal.subject_id):
            return
        try:
            await self.bus.connection_down(principal.subject_id)
        except BusUnavailable:
            log.info("%s left locally only: the bus is unavailable", principal.subject_id)
        if principal.role is Role.TABLET:
            await self.refresh_presence(principal.subject_id)
            await self._tell_listeners(conn, up=False)

    def add_tablet_listener(self, listener: TabletListener) -> None:
        self._tablet_listeners.append(listener)

    async def _tell_listeners(self, conn: Connection, *, up: bool) -> None:
        for listener in self._tablet_listeners:
            try:
                if up:
                    await listener.tablet_up(conn)
                else:
                    await listener.tablet_down(conn)
            except Exception:
                # Bookkeeping about a socket must never cost the socket itself.
                log.warning("a tablet listener failed for %s", conn, exc_info=True)

    def _forget(self, conn: Connection) -> None:
        conns = self._by_subject.get(conn.principal.subject_id)
        if conns and conn in conns:
            conns.remove(conn)
            if not conns:
                del self._by_subject[conn.principal.subject_id]
        self._staff.discard(conn)
        self._seq.pop(conn.id, None)
        for watchers in self._watchers.values():
            watchers.discard(conn)

    def connections_of(self, subject_id: str) -> list[Connection]:
        """This instance's sockets of a subject (others may hold more: see is_connected)."""
        return list(self._by_subject.get(subject_id, []))

    def is_connected(self, subject_id: str) -> bool:
        """Whether the subject has a socket on any instance."""
        return bool(self._by_subject.get(subject_id)) or bool(self.bus.remote_instances(subject_id))

    def is_connected_here(self, subject_id: str) -> bool:
        return bool(self._by_subject.get(subject_id))

    def staff_connections(self) -> Iterable[Connection]:
        return list(self._staff)

    def tablet_connections(self) -> list[Connection]:
        """This instance's tablet sockets (each instance serves its own)."""
        return [
            conn
            for conns in self._by_subject.values()
            for conn in conns
            if conn.principal.role is Role.TABLET
        ]

    def watch(self, conn: Participant, topic: str) -> None:
        """From now on the socket receives what is published on the topic."""
        if conn.principal.is_staff:
            self._watchers.setdefault(topic, set()).add(conn)

    async def publish(self, topic: str, message: ServerMessage) -> None:
        """Send to the watchers of a topic on every instance."""
        await self.broadcast_staff_text(dump_message(message), frozenset({TOPIC_PREFIX + topic}))

    @property
    def connection_count(self) -> int:
        return sum(len(conns) for conns in self._by_subject.values())

    async def send_to(self, subject_id: str, message: ServerMessage) -> bool:
        """Send to every socket of the subject, on this instance and on the others."""
        conns = self.connections_of(subject_id)
        for conn in conns:
            await conn.send(message)
        remote = self.bus.remote_instances(subject_id)
        if remote:
            text = dump_message(message)
            for instance in remote:
                try:
                    await self.bus.deliver(instance, subject_id, text)
                except BusUnavailable:
                    log.info(
                        "could not route %s to %s on %s",
                        type(message).__name__,
                        subject_id,
                        instance,
                    )
        return bool(conns) or bool(remote)

    async def broadcast_staff(self, message: ServerMessage, roles: Iterable[Role] = ()) -> None:
        """Send to the staff of every instance (or only the given roles)."""
        await self.broadcast_staff_text(
            dump_message(message), frozenset(role.value for role in roles)
        )

    async def broadcast_staff_text(self, text: str, wanted: frozenset[str]) -> None:
        await self._send_local_staff(text, wanted)
        try:
            await self.bus.publish_staff(text, wanted)
        except BusUnavailable:
            log.info("staff on other instances missed a message")

    async def _send_local_staff(self, text: str, roles: frozenset[str]) -> None:
        topics = {r.removeprefix(TOPIC_PREFIX) for r in roles if r.startswith(TOPIC_PREFIX)}
        targets: Iterable[Participant]
        if topics:
            targets = {c for topic in topics for c in self._watchers.get(topic, ())}
        else:
            targets = [c for c in self._staff if not roles or c.principal.role.value in roles]
        await asyncio.gather(*(conn.send_text(text) for conn in targets))

    def principals_of_device(self, device_id: str) -> list[Principal]:
        return [
            conn.principal
            for conns in self._by_subject.values()
            for conn in conns
            if conn.principal.device_id == device_id
        ]

    async def disconnect_device(self, device_id: str) -> list[Principal]:
        """Close the sockets of a revoked tablet; returns whose sockets were closed."""
        closed = []
        for conns in list(self._by_subject.values()):
            for conn in list(conns):
                if conn.principal.device_id == device_id:
                    await conn.close(CloseCode.REVOKED, "device token revoked")
                    await self.unregister(conn)
                    closed.append(conn.principal)
        return closed

    async def close_all(self, code: int, reason: str) -> None:
        for conns in list(self._by_subject.values()):
            for conn in list(conns):
                await conn.close(code, reason)

    # ---- what other instances tell us (called by signaling/cluster.py) -------------------

    async def deliver_local(self, subject_id: str, text: str) -> None:
        for conn in self.connections_of(subject_id):
            await conn.send_text(text)

    async def staff_local(self, text: str, roles: frozenset[str]) -> None:
        await self._send_local_staff(text, roles)

    async def remote_location(self, event: Location) -> None:
        """A socket appeared or went away on another instance."""
        if event.up and event.exclusive:
            # The same tablet opened a newer socket elsewhere: ours is stale.
            for conn in self.connections_of(event.subject_id):
                if self._seq.get(conn.id, 0) < event.seq:
                    await conn.close(CloseCode.REPLACED, "replaced by a newer connection")
                    self._forget(conn)
        if event.up and event.subject_id not in self._names:
            # A client this instance has not heard of yet (added after its roster was read):
            # also when an instance announces itself again after a Redis outage, which says
            # "up" without "exclusive".
            client = await self._store.client(event.subject_id)
            if client is not None:
                self._names[client.id] = client.display_name
        if event.subject_id in self._names:
            await self.refresh_presence(event.subject_id)

    async def reconsider(self, subject_ids: Iterable[str]) -> None:
        """Recompute the presence of clients whose shared state changed (after a resync)."""
        subjects = set(subject_ids)
        if subjects - self._names.keys():
            self._names.update({c.id: c.display_name for c in await self._store.list_clients()})
        for subject in subjects & self._names.keys():
            await self.refresh_presence(subject)

    # ---- presence ------------------------------------------------------------------------

    def presence_of(self, client_id: str) -> Presence:
        return self.presence.get(client_id)

    def _status_of(self, client_id: str) -> PresenceStatus:
        if not self.is_connected(client_id):
            return PresenceStatus.OFFLINE
        remote = self.bus.remote_flag(client_id)
        remote_flag = remote.flag if remote is not None else None
        local_flag = self._flags.flag_of(client_id)
        if local_flag == "in_call" or remote_flag == "in_call":
            return PresenceStatus.IN_CALL
        if local_flag == "ringing" or remote_flag == "ringing":
            return PresenceStatus.RINGING
        return PresenceStatus.ONLINE

    async def refresh_presence(self, client_id: str) -> None:
        await self._publish_flag(client_id)
        await self.set_presence(client_id, self._status_of(client_id))

    async def _publish_flag(self, client_id: str) -> None:
        """Tell the other instances what this instance's calls and rooms say about a client."""
        flag: CallFlagName | None = self._flags.flag_of(client_id)
        if self._published_flags.get(client_id) == flag:
            return
        if flag is None:
            del self._published_flags[client_id]
        else:
            self._published_flags[client_id] = flag
        try:
            await self.bus.set_call_flag(client_id, flag)
        except BusUnavailable:
            log.info("presence of %s not shared: the bus is unavailable", client_id)

    async def set_presence(self, client_id: str, status: PresenceStatus) -> None:
        """Record a status; this instance's staff see the change (the others compute theirs)."""
        changed = self.presence.set(client_id, status, self._clock.now())
        if changed is not None:
            message = PresenceUpdate(client=self._entry(changed))
            await self._send_local_staff(dump_message(message), frozenset())

    async def presence_snapshot(self) -> PresenceSnapshot:
        clients = await self._store.list_clients()
        self._names.update({c.id: c.display_name for c in clients})
        for client in clients:
            # A client that came online elsewhere before this instance heard of it.
            status = self._status_of(client.id)
            if self.presence.get(client.id).status is not status:
                self.presence.set(client.id, status, self._clock.now())
        return PresenceSnapshot(clients=[self._entry(self.presence.get(c.id)) for c in clients])

    def _entry(self, presence: Presence) -> PresenceEntry:
        return PresenceEntry(
            client_id=presence.client_id,
            name=self._names.get(presence.client_id, ""),
            status=presence.status.value,
            last_seen=presence.last_seen.isoformat() if presence.last_seen else None,
        )
