"""The nurses' side: the live dashboard, the session log and their JSON feeds."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web import state
from web.presenters import roster_entry, session_json, session_row
from web.responses import render

RECENT_SESSIONS = 100


async def dashboard(request: web.Request) -> web.StreamResponse:
    # The roster and queue arrive live over the WebSocket; the page itself is a shell.
    return render(request, "dashboard.html", {"page": "dashboard"})


async def sessions_page(request: web.Request) -> web.StreamResponse:
    records = await state.services(request).store.recent_sessions(RECENT_SESSIONS)
    rows = [session_row(record) for record in records]
    return render(request, "sessions.html", {"page": "sessions", "rows": rows})


async def roster(request: web.Request) -> list[dict[str, Any]]:
    services = state.services(request)
    clients = await services.store.list_clients()
    clients.sort(key=lambda c: (c.first_name.casefold(), c.last_name.casefold()))
    return [roster_entry(c, services.signaling.presence_of(c.id)) for c in clients]


async def api_clients(request: web.Request) -> web.StreamResponse:
    return web.json_response(await roster(request))


async def api_sessions(request: web.Request) -> web.StreamResponse:
    records = await state.services(request).store.recent_sessions(RECENT_SESSIONS)
    return web.json_response([session_json(record) for record in records])
