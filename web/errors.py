"""The edge where domain errors become HTTP statuses, and surprises become a calm 500."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from care_sessions.errors import (
    AuthenticationFailed,
    Busy,
    CareSessionError,
    Forbidden,
    InvalidInput,
    InvalidState,
    NotFound,
    Offline,
    PairingFailed,
)
from web.responses import error_response

log = logging.getLogger(__name__)

_STATUS: tuple[tuple[type[CareSessionError], int], ...] = (
    (NotFound, 404),
    (Forbidden, 403),
    (AuthenticationFailed, 401),
    (PairingFailed, 400),
    (InvalidInput, 400),
    (Busy, 409),
    (Offline, 409),
    (InvalidState, 409),
)
_DEFAULT_MESSAGES = {
    404: "Not found.",
    403: "You do not have access to this.",
    401: "Sign in first.",
    400: "The request was not valid.",
    409: "That cannot be done right now.",
}
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_WEBSOCKET_ROUTE = "ws"
# Headers of aiohttp's own errors that the client needs to act on.
_KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def status_for(exc: CareSessionError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except CareSessionError as exc:
        status = status_for(exc)
        message = str(exc) or _DEFAULT_MESSAGES.get(status, "The request failed.")
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return error_response(request, status, exc.code, message, headers=headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        kept = {name: exc.headers[name] for name in _KEPT_HEADERS if name in exc.headers}
        code = _HTTP_CODES.get(exc.status, "http_error")
        return error_response(request, exc.status, code, exc.reason, headers=kept)
    except ConnectionError:
        raise  # the client went away; nothing to answer
    except Exception:
        if request.match_info.route.name == _WEBSOCKET_ROUTE:
            raise  # the handshake may already be sent: a page cannot follow it
        log.exception("unhandled error in %s %s", request.method, request.path)
        return error_response(request, 500, "internal_error", "Something went wrong on the server.")
