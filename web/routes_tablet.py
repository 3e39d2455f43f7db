"""The kiosk tablet's HTTP side: its page shell, pairing by code, and who it is."""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web

from care_sessions.errors import AuthenticationFailed, InvalidInput
from web import state
from web.responses import error_response, render

CODE_MAX = 32
LABEL_MAX = 80
_BODY_MAX = 4096


def _kiosk_version() -> str:
    try:
        return f"kiosk/{version('hoiva')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "kiosk/dev"


KIOSK_VERSION = _kiosk_version()


async def tablet_page(request: web.Request) -> web.StreamResponse:
    # The shell carries no data: a kiosk's token lives in its own storage and the page
    # asks for everything else with it.
    return render(request, "tablet.html", {"app_version": KIOSK_VERSION})


async def _json_body(request: web.Request) -> dict[str, Any]:
    # Requiring application/json also forces a CORS preflight on any cross-site attempt.
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(reason="Send the request as application/json.")
    if request.content_length is not None and request.content_length > _BODY_MAX:
        raise web.HTTPRequestEntityTooLarge(max_size=_BODY_MAX, actual_size=request.content_length)
    raw = await request.content.read(_BODY_MAX + 1)
    if len(raw) > _BODY_MAX:
        raise web.HTTPRequestEntityTooLarge(max_size=_BODY_MAX, actual_size=len(raw))
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return body


def _short_string(body: dict[str, Any], name: str, max_len: int, *, required: bool) -> str:
    value = body.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"'{name}' must be a string.")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"'{name}' is required.")
    if len(value) > max_len:
        raise InvalidInput(f"'{name}' can be at most {max_len} characters.")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise InvalidInput(f"'{name}' contains control characters.")
    return value


async def tablet_pair(request: web.Request) -> web.StreamResponse:
    limiter = request.app[state.PAIR_LIMITER]
    address = request.remote or "unknown"
    # Counted before the body is even read: every attempt is a guess at a code.
    if not limiter.try_acquire(address):
        wait_s = limiter.retry_after_s(address)
        return error_response(
            request,
            429,
            "rate_limited",
            f"Too many pairing attempts. Try again in {wait_s} seconds.",
            headers={"Retry-After": str(wait_s)},
        )
    body = await _json_body(request)
    code = _short_string(body, "code", CODE_MAX, required=True)
    label = _short_string(body, "label", LABEL_MAX, required=False)
    enrolled = await state.services(request).auth.redeem_pairing_code(code, label)
    return web.json_response(
        {
            "token": enrolled.token,
            "client_id": enrolled.device.client_id,
            "device_id": enrolled.device.id,
        }
    )


async def tablet_me(request: web.Request) -> web.StreamResponse:
    client_id = state.principal(request).client_id
    client = await state.services(request).store.client(client_id) if client_id else None
    if client is None:
        raise AuthenticationFailed("This tablet belongs to no client.")
    settings = client.settings
    return web.json_response(
        {
            "client_id": client.id,
            "first_name": client.first_name,
            "settings": {
                "language": str(settings.language),
                "auto_answer": settings.auto_answer,
                "auto_answer_after_s": settings.auto_answer_after_s,
            },
        }
    )
