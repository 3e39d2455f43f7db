"""What web/ keeps on the application and on each request, behind typed accessors."""

from __future__ import annotations

from typing import Literal

from aiohttp import web

from care_sessions.errors import NotFound
from care_sessions.identity import ANONYMOUS, Client, Principal
from web.deps import WebDeps
from web.i18n import Catalogues, Language, negotiate
from web.rate_limit import RateLimiter

AuthMethod = Literal["cookie", "bearer", "none"]

SERVICES = web.AppKey("web.deps", WebDeps)
PAIR_LIMITER = web.AppKey("web.pair_limiter", RateLimiter)
LOGIN_LIMITER = web.AppKey("web.login_limiter", RateLimiter)
ACCOUNT_LIMITER = web.AppKey("web.account_limiter", RateLimiter)
CATALOGUES = web.AppKey("web.catalogues", Catalogues)

# Set by the authentication middleware for every request; the /ws upgrade reads it through
# `principal` (the composition root hands that function to the WebSocket endpoint).
PRINCIPAL = web.RequestKey("web.principal", Principal)
AUTH_METHOD = web.RequestKey("web.auth_method", str)
CSRF_TOKEN = web.RequestKey("web.csrf_token", str)
SESSION_TOKEN = web.RequestKey("web.session_token", str)
# The staff pages' language the signed-in person chose, "" when they follow the browser.
STAFF_LANGUAGE = web.RequestKey("web.staff_language", str)


def services(request: web.Request) -> WebDeps:
    return request.app[SERVICES]


def principal(request: web.Request) -> Principal:
    """The caller the authentication middleware resolved; anonymous when it did not run."""
    value = request.get(PRINCIPAL)
    return value if isinstance(value, Principal) else ANONYMOUS


def auth_method(request: web.Request) -> AuthMethod:
    method = request.get(AUTH_METHOD)
    return "cookie" if method == "cookie" else "bearer" if method == "bearer" else "none"


def csrf_token(request: web.Request) -> str:
    """The signed-in session's CSRF token, or "" for anyone else."""
    token = request.get(CSRF_TOKEN)
    return token if isinstance(token, str) else ""


def session_token(request: web.Request) -> str | None:
    token = request.get(SESSION_TOKEN)
    return token if isinstance(token, str) else None


async def client_in_path(request: web.Request) -> Client:
    """The client named by the route's {client_id}; 404 when there is none."""
    client = await services(request).store.client(request.match_info["client_id"])
    if client is None:
        raise NotFound("There is no such client.")
    return client


def language(request: web.Request) -> Language:
    """The request's language: the staff account's choice, else the browser's."""
    chosen = request.get(STAFF_LANGUAGE) or negotiate(request.headers.get("Accept-Language"))
    return request.app[CATALOGUES][chosen]
