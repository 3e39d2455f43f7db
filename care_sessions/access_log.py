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
    FAMILY = "family_contacts"


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


# The client's own view speaks the client's language; staff pages use the codes.
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "read": "viewed",
        "change": "changed",
        "export": "exported",
        "erase": "erased",
        "profile": "your details",
        "care_plan": "your care plan",
        "outcomes": "your check-in results",
        "sessions": "your call history",
        "report": "a report that names you",
        "recording": "a recording of your call",
        "consents": "your consents",
        "access_log": "this list",
        "devices": "your tablet's settings",
        "family_contacts": "your family contacts",
        "nurse": "Nurse",
        "host": "Group host",
        "admin": "Administrator",
        "tablet": "You (on your tablet)",
        "family": "Family member",
        "probe": "An automatic test",
        "anonymous": "Someone",
        "care": "care",
        "administration": "administration",
        "reporting": "reporting",
        "client_request": "your request",
    },
    "fi": {
        "read": "katsoi",
        "change": "muutti",
        "export": "vei",
        "erase": "poisti",
        "profile": "tietojasi",
        "care_plan": "hoitosuunnitelmaasi",
        "outcomes": "kuittaustesi tuloksia",
        "sessions": "puheluhistoriaasi",
        "report": "raporttia, jossa nimesi on",
        "recording": "puhelusi tallennetta",
        "consents": "suostumuksiasi",
        "access_log": "tätä luetteloa",
        "devices": "tablettisi asetuksia",
        "family_contacts": "omaistesi yhteystietoja",
        "nurse": "Hoitaja",
        "host": "Ryhmän vetäjä",
        "admin": "Ylläpitäjä",
        "tablet": "Sinä (tabletilla)",
        "family": "Omainen",
        "probe": "Automaattinen testi",
        "anonymous": "Joku",
        "care": "hoito",
        "administration": "ylläpito",
        "reporting": "raportointi",
        "client_request": "pyyntösi",
    },
    "sv": {
        "read": "tittade på",
        "change": "ändrade",
        "export": "exporterade",
        "erase": "raderade",
        "profile": "dina uppgifter",
        "care_plan": "din vårdplan",
        "outcomes": "dina kvitteringar",
        "sessions": "din samtalshistorik",
        "report": "en rapport som nämner dig",
        "recording": "en inspelning av ditt samtal",
        "consents": "dina samtycken",
        "access_log": "den här listan",
        "devices": "din surfplattas inställningar",
        "family_contacts": "dina anhörigas kontaktuppgifter",
        "nurse": "Vårdaren",
        "host": "Gruppledaren",
        "admin": "Administratören",
        "tablet": "Du (på surfplattan)",
        "family": "En anhörig",
        "probe": "Ett automatiskt test",
        "anonymous": "Någon",
        "care": "vård",
        "administration": "administration",
        "reporting": "rapportering",
        "client_request": "din begäran",
    },
}


def plain_sentence(entry: AccessEntry, language: str = "en") -> str:
    """'Nurse Nina Nurmi viewed your check-in results (care).' - for the client's own view."""
    words = _WORDS.get(language, _WORDS["en"])
    who = words[entry.actor_role.value]
    if entry.actor_role is not Role.TABLET:
        who = f"{who} {entry.actor_name}"
    what = f"{words[entry.action.value]} {words[entry.data.value]}"
    return f"{who} {what} ({words[entry.purpose.value]})."
