"""Request storage shared by the HTTP middlewares (web/) and the WebSocket endpoint."""

from __future__ import annotations

from aiohttp import web

from care_sessions.identity import Principal

# Set by web/'s authentication middleware for every request, read by the /ws upgrade.
PRINCIPAL = web.RequestKey("principal", Principal)
