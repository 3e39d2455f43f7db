"""CSRF: state-changing requests that ride on a cookie must also prove they came from us."""

from __future__ import annotations

import hmac

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler

from web import state
from web.cookies import LOGIN_CSRF_COOKIE
from web.responses import error_response

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
_UNSAFE = frozenset({hdrs.METH_POST, hdrs.METH_PUT, hdrs.METH_PATCH, hdrs.METH_DELETE})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
LOGIN_ROUTE = "login"


def tokens_match(expected: str, supplied: str) -> bool:
    if not expected or not supplied:
        return False
    return hmac.compare_digest(expected.encode(), supplied.encode())


async def supplied_token(request: web.Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type not in _FORM_TYPES:
        return ""
    # request.post() caches the parsed form, so the handler reads it again for free.
    value = (await request.post()).get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method not in _UNSAFE:
        return await handler(request)
    if request.match_info.route.name == LOGIN_ROUTE:
        # No session yet: the form's hidden token must equal the hoiva_csrf cookie, which a
        # third-party page can neither read nor set.
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    elif state.auth_method(request) == "cookie":
        expected = state.csrf_token(request)
    else:
        # Bearer-token and anonymous requests carry no ambient authority to abuse.
        return await handler(request)
    if not tokens_match(expected, await supplied_token(request)):
        return error_response(
            request,
            403,
            "csrf_failed",
            "This form has expired or did not come from Hoiva. Go back, reload the page "
            "and try again.",
        )
    return await handler(request)
