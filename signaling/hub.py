"""Who is connected: the registry of sockets, client presence, and fan-out to staff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from care_sessions.clock import Clock
from care_sessions.identity import Principal, Role
from care_sessions.ports import CareStore
from care_sessions.presence import Presence, PresenceBook, PresenceStatus
from signaling.connection import CloseCode, Connection
from signaling.protocol import PresenceEntry, PresenceSnapshot, PresenceUpdate, ServerMessage

log = logging.getLogger(__name__)


class SignalingHub:
    """Tracks connections by subject; the call and help services address people through it."""

    def __init__(self, store: CareStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._by_subject: dict[str, list[Connection]] = {}
        self._staff: set[Connection] = set()
        self.presence = PresenceBook()
        self._names: dict[str, str] = {}
        # Set by the call service: it decides "in call" vs "online" when a tablet comes back.
        self.busy_clients: set[str] = set()
        self.ringing_clients: set[str] = set()

    # ---- registry ------------------------------------------------------------------------

    async def register(self, conn: Connection) -> None:
        principal = conn.principal
        if principal.role is Role.TABLET:
            # One live socket per client: a tablet that reconnects replaces its stale socket.
            for old in self._by_subject.get(principal.subject_id, []):
                await old.close(CloseCode.REPLACED, "replaced by a newer connection")
                self._forget(old)
        self._by_subject.setdefault(principal.subject_id, []).append(conn)
        if principal.is_staff:
            self._staff.add(conn)
            await conn.send(await self.presence_snapshot())
        elif principal.role is Role.TABLET:
            client = await self._store.client(principal.subject_id)
            if client is not None:
                self._names[client.id] = client.display_name
            await self.set_presence(principal.subject_id, self._status_of(principal.subject_id))
            if principal.device_id:
                await self._store.touch_device(principal.device_id, self._clock.now())

    async def unregister(self, conn: Connection) -> None:
        self._forget(conn)
        principal = conn.principal
        if principal.role is Role.TABLET and not self._by_subject.get(principal.subject_id):
            await self.set_presence(principal.subject_id, PresenceStatus.OFFLINE)

    def _forget(self, conn: Connection) -> None:
        conns = self._by_subject.get(conn.principal.subject_id)
        if conns and conn in conns:
            conns.remove(conn)
            if not conns:
                del self._by_subject[conn.principal.subject_id]
        self._staff.discard(conn)

    def connections_of(self, subject_id: str) -> list[Connection]:
        return list(self._by_subject.get(subject_id, []))

    def is_connected(self, subject_id: str) -> bool:
        return bool(self._by_subject.get(subject_id))

    def staff_connections(self) -> Iterable[Connection]:
        return list(self._staff)

    @property
    def connection_count(self) -> int:
        return sum(len(conns) for conns in self._by_subject.values())

    async def send_to(self, subject_id: str, message: ServerMessage) -> bool:
        conns = self.connections_of(subject_id)
        for conn in conns:
            await conn.send(message)
        return bool(conns)

    async def broadcast_staff(self, message: ServerMessage, roles: Iterable[Role] = ()) -> None:
        wanted = set(roles)
        targets = [c for c in self._staff if not wanted or c.principal.role in wanted]
        await asyncio.gather(*(conn.send(message) for conn in targets))

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

    # ---- presence ------------------------------------------------------------------------

    def presence_of(self, client_id: str) -> Presence:
        return self.presence.get(client_id)

    def _status_of(self, client_id: str) -> PresenceStatus:
        if client_id in self.busy_clients:
            return PresenceStatus.IN_CALL
        if client_id in self.ringing_clients:
            return PresenceStatus.RINGING
        return PresenceStatus.ONLINE if self.is_connected(client_id) else PresenceStatus.OFFLINE

    async def refresh_presence(self, client_id: str) -> None:
        await self.set_presence(client_id, self._status_of(client_id))

    async def set_presence(self, client_id: str, status: PresenceStatus) -> None:
        changed = self.presence.set(client_id, status, self._clock.now())
        if changed is not None:
            await self.broadcast_staff(PresenceUpdate(client=self._entry(changed)))

    async def presence_snapshot(self) -> PresenceSnapshot:
        clients = await self._store.list_clients()
        self._names.update({c.id: c.display_name for c in clients})
        return PresenceSnapshot(clients=[self._entry(self.presence.get(c.id)) for c in clients])

    def _entry(self, presence: Presence) -> PresenceEntry:
        return PresenceEntry(
            client_id=presence.client_id,
            name=self._names.get(presence.client_id, ""),
            status=presence.status.value,
            last_seen=presence.last_seen.isoformat() if presence.last_seen else None,
        )
