"""The client's data rights: a machine-readable export of everything, and erasure of the
optional part. Each store contributes its section; every use goes into the access log."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

from care_services.checkins import CheckinService
from care_services.ports import LiveSessions
from care_sessions.access_log import AccessAction, AccessLog, AccessQuery, DataKind, Purpose
from care_sessions.clock import Clock
from care_sessions.consent import ConsentLedger
from care_sessions.data_rights import erasable_kinds, retained_kinds
from care_sessions.errors import NotFound
from care_sessions.family import FamilyCircle
from care_sessions.identity import Principal
from care_sessions.ports import CareStore

EXPORT_FORMAT = "hoiva-client-export/1"


class DataSources(Protocol):
    """Where a client's data lives (the pages' and the composition root's bundles offer it)."""

    @property
    def store(self) -> CareStore: ...

    @property
    def family(self) -> FamilyCircle: ...

    @property
    def consents(self) -> ConsentLedger: ...

    @property
    def access_log(self) -> AccessLog: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def checkins(self) -> CheckinService | None: ...

    @property
    def live(self) -> LiveSessions: ...


ExportSection = Callable[[DataSources, str], Awaitable[Any]]


def plain(value: Any) -> Any:
    """Dataclasses, enums and datetimes as JSON values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, set | frozenset):
        return sorted((plain(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def _devices(services: DataSources, client_id: str) -> Any:
    return [
        {"id": d.id, "label": d.label, "created_at": d.created_at, "revoked_at": d.revoked_at}
        for d in await services.store.devices_for_client(client_id)
    ]


async def _family(services: DataSources, client_id: str) -> Any:
    return await services.family.contacts(client_id)


async def _sessions(services: DataSources, client_id: str) -> Any:
    return await services.store.sessions_for_client(client_id)


async def _help(services: DataSources, client_id: str) -> Any:
    return await services.store.help_requests_for_client(client_id)


async def _consents(services: DataSources, client_id: str) -> Any:
    return await services.consents.history(client_id)


async def _access_log(services: DataSources, client_id: str) -> Any:
    return await services.access_log.search(AccessQuery(client_id=client_id, limit=5000))


async def _care_plan(services: DataSources, client_id: str) -> Any:
    checkins = services.checkins
    return [] if checkins is None else await checkins.store.plan_items(client_id)


async def _checkins(services: DataSources, client_id: str) -> Any:
    """Every check-in with its outcome (measurements, notes) and its history of transitions."""
    checkins = services.checkins
    if checkins is None:
        return []
    store = checkins.store
    everything = await store.checkins_between(_EPOCH, _FAR_FUTURE, client_id)
    return [
        {
            "checkin": checkin,
            "outcome": await store.outcome(checkin.id),
            "events": await store.events(checkin.id),
        }
        for checkin in everything
    ]


_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)

# Each feature contributes its section; later ones (rooms, recordings) add theirs here.
EXPORT_SECTIONS: dict[str, ExportSection] = {
    "care_plan": _care_plan,
    "checkins": _checkins,
    "devices": _devices,
    "family_contacts": _family,
    "sessions": _sessions,
    "help_requests": _help,
    "consents": _consents,
    "access_log": _access_log,
}


async def export_client(
    services: DataSources, client_id: str, actor: Principal, purpose: Purpose
) -> dict[str, Any]:
    """Everything Hoiva holds about one client, as one JSON-ready document."""
    client = await services.store.client(client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    # Logged first, so that the export contains its own entry.
    await services.access_log.record(
        actor, client_id, AccessAction.EXPORT, DataKind.PROFILE, purpose, "full export"
    )
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": services.clock.now().isoformat(),
        "client": plain(client),
    }
    for name, section in EXPORT_SECTIONS.items():
        document[name] = plain(await section(services, client_id))
    return document


async def erase_optional(services: DataSources, client_id: str, actor: Principal) -> dict[str, Any]:
    """Erase optional data, keep the care records; returns what was erased and kept."""
    if await services.store.client(client_id) is None:
        raise NotFound(f"no client {client_id}")
    for device in await services.store.devices_for_client(client_id):
        if not device.revoked:
            await services.store.revoke_device(device.id, services.clock.now())
            await services.live.disconnect_device(device.id)
    for contact in await services.family.contacts(client_id):
        # A relative's open page must not outlive its contact (the same path as revocation).
        await services.live.disconnect_device(contact.id)
    erased = await services.store.erase_optional_client_data(client_id)
    await services.access_log.record(
        actor,
        client_id,
        AccessAction.ERASE,
        DataKind.DEVICES,
        Purpose.CLIENT_REQUEST,
        "optional data: " + ", ".join(erasable_kinds()),
    )
    return {"erased": erased, "retained": retained_kinds()}
