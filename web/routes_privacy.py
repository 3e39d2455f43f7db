"""MyData: consents, the access log (staff search and the client's own view), export, erasure."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from care_services.client_data import erase_optional, export_client
from care_sessions.access_log import (
    AccessAction,
    AccessEntry,
    AccessQuery,
    DataKind,
    Purpose,
    plain_sentence,
)
from care_sessions.consent import ConsentPurpose
from care_sessions.errors import InvalidInput
from web import state
from web.forms import FormReader
from web.presenters import iso, short_time
from web.responses import render

PURPOSE_TEXT = {
    ConsentPurpose.RECORDING: "Recording of calls",
    ConsentPurpose.FAMILY_CALLS: "Calls from family members",
    ConsentPurpose.REPORTS: "Use in the service's reports",
    ConsentPurpose.SHARE_WITH_RELATIVES: "Sharing with named relatives",
}
NOTE_MAX = 500
LOG_PAGE = 200


def _entry_row(entry: AccessEntry) -> dict[str, Any]:
    return {
        "at": iso(entry.at),
        "at_text": short_time(entry.at),
        "actor": f"{entry.actor_name} ({entry.actor_role.value})",
        "action": entry.action.value,
        "data": entry.data.value,
        "purpose": entry.purpose.value,
        "detail": entry.detail,
        "client_id": entry.client_id,
        "sentence": plain_sentence(entry),
    }


async def client_privacy(request: web.Request) -> web.StreamResponse:
    """Consents, their history and who accessed the client's data, on one page."""
    services = state.services(request)
    client = await state.client_in_path(request)
    who = state.principal(request)
    await services.access_log.record(
        who, client.id, AccessAction.READ, DataKind.CONSENTS, Purpose.CARE, "privacy page"
    )
    await services.access_log.record(
        who, client.id, AccessAction.READ, DataKind.ACCESS_LOG, Purpose.CARE, "privacy page"
    )
    current = await services.consents.current(client.id)
    history = await services.consents.history(client.id)
    entries = await services.access_log.search(AccessQuery(client_id=client.id, limit=LOG_PAGE))
    return render(
        request,
        "privacy.html",
        {
            "page": "admin",
            "client": client,
            "purposes": [
                {
                    "value": purpose.value,
                    "text": text,
                    "granted": bool(current.get(purpose) and current[purpose].granted),
                    "since": short_time(current[purpose].recorded_at) if purpose in current else "",
                }
                for purpose, text in PURPOSE_TEXT.items()
            ],
            "history": [
                {
                    "purpose": PURPOSE_TEXT[r.purpose],
                    "granted": r.granted,
                    "version": r.version,
                    "at_text": short_time(r.recorded_at),
                    "note": r.note,
                }
                for r in sorted(history, key=lambda r: r.recorded_at, reverse=True)
            ],
            "entries": [_entry_row(e) for e in entries],
            "notice": request.query.get("notice", ""),
        },
    )


async def consent_decide(request: web.Request) -> web.StreamResponse:
    services = state.services(request)
    client = await state.client_in_path(request)
    form = FormReader(await request.post())
    purpose = form.choice("purpose", "Purpose", ConsentPurpose, ConsentPurpose.RECORDING)
    decision = form.raw("decision")
    if decision not in ("grant", "withdraw"):
        form.errors["decision"] = "Choose whether consent is given or withdrawn."
    note = form.text("note", "Note", max_len=NOTE_MAX, min_len=0)
    form.raise_if_invalid()
    who = state.principal(request)
    await services.consents.decide(client.id, purpose, decision == "grant", who, note)
    if purpose is ConsentPurpose.FAMILY_CALLS and decision == "withdraw":
        for contact in await services.family.revoke_all(client.id, who):
            await services.live.disconnect_device(contact.id)
    await services.access_log.record(
        who, client.id, AccessAction.CHANGE, DataKind.CONSENTS, Purpose.CARE, purpose.value
    )
    raise web.HTTPSeeOther(f"/admin/clients/{client.id}/privacy?notice=consent_saved")


async def client_export(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    document = await export_client(
        state.services(request), client.id, state.principal(request), Purpose.CLIENT_REQUEST
    )
    return web.json_response(
        document,
        headers={"Content-Disposition": f'attachment; filename="hoiva-export-{client.id}.json"'},
    )


async def client_erase(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    form = FormReader(await request.post())
    if form.raw("confirm") != client.first_name:
        raise InvalidInput("Type the client's first name to confirm erasure.")
    result = await erase_optional(state.services(request), client.id, state.principal(request))
    return render(request, "erased.html", {"page": "admin", "client": client, "result": result})


def _day(value: str, label: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).astimezone()
    except ValueError:
        raise InvalidInput(f"{label} must be a date like 2026-11-30.") from None


async def access_log_search(request: web.Request) -> web.StreamResponse:
    """Staff search of the access log by client, actor and period."""
    services = state.services(request)
    client_id = request.query.get("client_id", "").strip()[:64] or None
    actor_id = request.query.get("actor_id", "").strip()[:64] or None
    since = _day(request.query.get("since", ""), "From")
    until = _day(request.query.get("until", ""), "To")
    entries = await services.access_log.search(
        AccessQuery(
            client_id=client_id,
            actor_id=actor_id,
            since=since,
            until=until + timedelta(days=1) if until else None,
            limit=LOG_PAGE,
        )
    )
    # Reading the log is itself an access to each client it names.
    await services.access_log.record(
        state.principal(request),
        [e.client_id for e in entries],
        AccessAction.READ,
        DataKind.ACCESS_LOG,
        Purpose.ADMINISTRATION,
        "access log search",
    )
    return render(
        request,
        "access_log.html",
        {
            "page": "access_log",
            "entries": [_entry_row(e) for e in entries],
            "filters": {
                "client_id": client_id or "",
                "actor_id": actor_id or "",
                "since": request.query.get("since", ""),
                "until": request.query.get("until", ""),
            },
        },
    )


async def tablet_access_log(request: web.Request) -> web.StreamResponse:
    """The client's own 'who has seen my data' list, in plain sentences."""
    services = state.services(request)
    who = state.principal(request)
    assert who.client_id is not None
    entries = await services.access_log.search(AccessQuery(client_id=who.client_id, limit=100))
    client = await services.store.client(who.client_id)
    language = client.settings.language.value if client else "en"
    await services.access_log.record(
        who, who.client_id, AccessAction.READ, DataKind.ACCESS_LOG, Purpose.CLIENT_REQUEST
    )
    return web.json_response(
        {"entries": [{"at": iso(e.at), "text": plain_sentence(e, language)} for e in entries]}
    )


async def tablet_export(request: web.Request) -> web.StreamResponse:
    """MyData: the client takes all their data with them, from their own tablet."""
    who = state.principal(request)
    assert who.client_id is not None
    document = await export_client(
        state.services(request), who.client_id, who, Purpose.CLIENT_REQUEST
    )
    return web.json_response(document)


def add_routes(router: web.UrlDispatcher, id_pattern: str) -> None:
    client_path = "/admin/clients/" + id_pattern % "client_id"
    router.add_get(client_path + "/privacy", client_privacy, name="admin.client_privacy")
    router.add_post(client_path + "/consents", consent_decide, name="admin.consent")
    router.add_get(client_path + "/export", client_export, name="admin.client_export")
    router.add_post(client_path + "/erase", client_erase, name="admin.client_erase")
    router.add_get("/access-log", access_log_search, name="access_log")
    router.add_get("/api/tablet/access-log", tablet_access_log, name="api.tablet_access_log")
    router.add_get("/api/tablet/export", tablet_export, name="api.tablet_export")
