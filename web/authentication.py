"""Who is calling: a staff session cookie, a tablet's bearer token, or nobody."""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from care_sessions.auth import staff_principal
from care_sessions.errors import AuthenticationFailed
from care_sessions.identity import ANONYMOUS
from web import state
from web.cookies import SESSION_COOKIE

# Real tokens are ~43 characters; anything far longer is garbage not worth hashing.
_MAX_TOKEN_LENGTH = 512


@web.middleware
async def authentication_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[state.PRINCIPAL] = ANONYMOUS
    request[state.AUTH_METHOD] = "none"
    # Static assets are public; skipping them saves a session lookup per file.
    if (request.match_info.route.name or "").startswith("static"):
        return await handler(request)
    services = state.services(request)
    authorization = request.headers.get(hdrs.AUTHORIZATION)
    if authorization is not None:
        # A tablet sends its token in the header and never relies on cookies, which is
        # also why bearer requests need no CSRF token.
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > _MAX_TOKEN_LENGTH:
            raise AuthenticationFailed("expected 'Authorization: Bearer <device token>'")
        request[state.PRINCIPAL] = await services.auth.tablet_principal(token)
        request[state.AUTH_METHOD] = "bearer"
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    if token and len(token) <= _MAX_TOKEN_LENGTH:
        found = await services.auth.staff_session(token)
        # An expired or unknown cookie is simply no session: the caller is anonymous and
        # gets the login page, which replaces the cookie.
        if found is not None and found[0].active:
            user, csrf = found
            request[state.PRINCIPAL] = staff_principal(user)
            request[state.AUTH_METHOD] = "cookie"
            request[state.CSRF_TOKEN] = csrf
            request[state.SESSION_TOKEN] = token
            request[state.STAFF_LANGUAGE] = user.language.value if user.language else ""
    return await handler(request)
