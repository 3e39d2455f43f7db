"""Who read or changed a client's data, when and why: the log the client may ask to see.

Finnish law (the Client Data Act) requires such a log for social and health care data; the
MyData principles add that the client can read it. It is append-only: the store refuses
updates and deletes at the database level.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from care_sessions.clock import Clock
from care_sessions.identity import Principal, Role


class AccessAction(enum.StrEnum):
    READ = "read"
    CHANGE = "change"
    EXPORT = "export"
    ERASE = "erase"


class DataKind(enum.StrEnum):
    """What part of a client's data was touched, in words a client understands."""

    PROFILE = "profile"
    CARE_PLAN = "care_plan"
    OUTCOMES = "outcomes"
    SESSIONS = "sessions"
    REPORT = "report"
    RECORDING = "recording"
    CONSENTS = "consents"
    ACCESS_LOG = "access_log"
    DEVICES = "devices"


class Purpose(enum.StrEnum):
    """Why: every access names a reason."""

    CARE = "care"
    ADMINISTRATION = "administration"
    REPORTING = "reporting"
    CLIENT_REQUEST = "client_request"


@dataclass(frozen=True)
class AccessEntry:
    id: str
    at: datetime
    actor_role: Role
    actor_id: str
    actor_name: str
    client_id: str
    action: AccessAction
    data: DataKind
    purpose: Purpose
    detail: str = ""  # e.g. which page or export; never health values


@dataclass(frozen=True)
class AccessQuery:
    client_id: str | None = None
    actor_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


class AccessLogStore(Protocol):
    async def append_access(self, entries: list[AccessEntry]) -> None: ...

    async def search_access(self, query: AccessQuery) -> list[AccessEntry]: ...


class AccessLog:
    """Writes entries for a principal's reads and changes; the edges call it, never skip it."""

    def __init__(self, store: AccessLogStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    async def record(
        self,
        actor: Principal,
        client_ids: list[str] | str,
        action: AccessAction,
        data: DataKind,
        purpose: Purpose,
        detail: str = "",
    ) -> None:
        ids = [client_ids] if isinstance(client_ids, str) else sorted(set(client_ids))
        if not ids:
            return
        now = self._clock.now()
        await self._store.append_access(
            [
                AccessEntry(
                    id=str(uuid.uuid4()),
                    at=now,
                    actor_role=actor.role,
                    actor_id=actor.subject_id,
                    actor_name=actor.display_name,
                    client_id=client_id,
                    action=action,
                    data=data,
                    purpose=purpose,
                    detail=detail[:200],
                )
                for client_id in ids
            ]
        )

    async def search(self, query: AccessQuery) -> list[AccessEntry]:
        return await self._store.search_access(query)


_ACTION_WORDS = {
    AccessAction.READ: "viewed",
    AccessAction.CHANGE: "changed",
    AccessAction.EXPORT: "exported",
    AccessAction.ERASE: "erased",
}
_DATA_WORDS = {
    DataKind.PROFILE: "your details",
    DataKind.CARE_PLAN: "your care plan",
    DataKind.OUTCOMES: "your check-in results",
    DataKind.SESSIONS: "your call history",
    DataKind.REPORT: "a report that names you",
    DataKind.RECORDING: "a recording of your call",
    DataKind.CONSENTS: "your consents",
    DataKind.ACCESS_LOG: "this list",
    DataKind.DEVICES: "your tablet's settings",
}
_ROLE_WORDS = {
    Role.NURSE: "Nurse",
    Role.HOST: "Group host",
    Role.ADMIN: "Administrator",
    Role.TABLET: "You (on your tablet)",
    Role.FAMILY: "Family member",
    Role.ANONYMOUS: "Someone",
}


def plain_sentence(entry: AccessEntry) -> str:
    """'Nurse Nina Nurmi viewed your check-in results (care).' - for the client's own view."""
    who = _ROLE_WORDS[entry.actor_role]
    if entry.actor_role is not Role.TABLET:
        who = f"{who} {entry.actor_name}"
    what = f"{_ACTION_WORDS[entry.action]} {_DATA_WORDS[entry.data]}"
    return f"{who} {what} ({entry.purpose.value.replace('_', ' ')})."
