"""Which clients' tablets are reachable, as the nurses' roster shows it."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class PresenceStatus(enum.StrEnum):
    OFFLINE = "offline"
    ONLINE = "online"
    RINGING = "ringing"
    IN_CALL = "in_call"


@dataclass(frozen=True)
class Presence:
    client_id: str
    status: PresenceStatus
    last_seen: datetime | None


class PresenceBook:
    """Presence of every client this instance knows; the bus shares it between instances."""

    def __init__(self) -> None:
        self._entries: dict[str, Presence] = {}

    def get(self, client_id: str) -> Presence:
        return self._entries.get(client_id, Presence(client_id, PresenceStatus.OFFLINE, None))

    def set(self, client_id: str, status: PresenceStatus, at: datetime) -> Presence | None:
        """Record a status; returns the new entry if anything a nurse would see changed."""
        before = self._entries.get(client_id)
        entry = Presence(client_id, status, at)
        self._entries[client_id] = entry
        if before is not None and before.status is status:
            return None
        return entry

    def snapshot(self) -> list[Presence]:
        return list(self._entries.values())
