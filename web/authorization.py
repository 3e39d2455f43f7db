"""Deny by default: every route must be allowed for the caller's role in ROUTE_RULES."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from care_sessions.identity import Role
from care_sessions.permissions import route_allowed
from web import state
from web.responses import error_response, is_api


def rule_key(request: web.Request) -> str | None:
    """The ROUTE_RULES key for this request, or None for a route without a name."""
    name = request.match_info.route.name
    if name is None:
        return None
    # aiohttp answers HEAD on every GET route; it reveals no more than the GET does.
    method = hdrs.METH_GET if request.method == hdrs.METH_HEAD else request.method
    return f"{method} {name}"


def login_url(next_path: str) -> str:
    return "/login?" + urlencode({"next": next_path})


@web.middleware
async def permission_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # the router's own 404/405
    key = rule_key(request)
    who = state.principal(request)
    if key is not None and route_allowed(key, who.role):
        return await handler(request)
    if who.role is Role.ANONYMOUS:
        if request.method in (hdrs.METH_GET, hdrs.METH_HEAD) and not is_api(request):
            raise web.HTTPFound(login_url(request.path_qs))
        return error_response(request, 401, "not_authenticated", "Sign in first.")
    return error_response(
        request, 403, "forbidden", f"Your account ({who.role}) cannot use this page."
    )
