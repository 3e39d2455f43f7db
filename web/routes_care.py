"""The nurses' side: the live dashboard, the session log and their JSON feeds."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.records import SessionRecord
from web import state
from web.presenters import roster_entry, session_json, session_row
from web.responses import render
from web.routes_recordings import quality_by_session, recordings_by_session

RECENT_SESSIONS = 100


async def dashboard(request: web.Request) -> web.StreamResponse:
    # The roster and queue arrive live over the WebSocket; the page itself is a shell.
    return render(request, "dashboard.html", {"page": "dashboard"})


async def _logged_sessions(request: web.Request) -> list[SessionRecord]:
    """Recent records; reading them is an access to every client they name."""
    services = state.services(request)
    records = await services.store.recent_sessions(RECENT_SESSIONS)
    await services.access_log.record(
        state.principal(request),
        [r.client_id for r in records],
        AccessAction.READ,
        DataKind.SESSIONS,
        Purpose.CARE,
        request.path,
    )
    return records


async def sessions_page(request: web.Request) -> web.StreamResponse:
    records = await _logged_sessions(request)
    language = state.language(request)
    rows = [session_row(record, language) for record in records]
    recordings = await recordings_by_session(request, [r.id for r in records])
    quality = await quality_by_session(request, [r.id for r in records])
    for row in rows:
        row["recordings"] = recordings.get(row["id"], [])
        row["quality"] = quality.get(row["id"], "")
    return render(request, "sessions.html", {"page": "sessions", "rows": rows})


async def roster(request: web.Request) -> list[dict[str, Any]]:
    services = state.services(request)
    clients = await services.store.list_clients()
    clients.sort(key=lambda c: (c.first_name.casefold(), c.last_name.casefold()))
    return [roster_entry(c, services.live.presence_of(c.id)) for c in clients]


async def api_clients(request: web.Request) -> web.StreamResponse:
    return web.json_response(await roster(request))


async def api_sessions(request: web.Request) -> web.StreamResponse:
    records = await _logged_sessions(request)
    return web.json_response([session_json(record) for record in records])
