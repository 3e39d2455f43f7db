"""Administration: clients, their tablets, pairing codes and revocation."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.errors import NotFound
from care_sessions.identity import Client, ClientSettings
from web import state
from web.forms import FormError, FormReader
from web.presenters import short_time
from web.responses import render
from web.settings_form import (
    AUTO_ANSWER_MAX_S,
    LANGUAGE_NAMES,
    read_answering,
    save_tablet_settings,
)

NAME_MAX = 60
NOTICES = {
    "client_created": "Client added.",
    "settings_saved": "Settings saved.",
    "device_revoked": "Tablet revoked. It was disconnected and must be paired again.",
}


async def _admin_page(
    request: web.Request,
    *,
    status: int = 200,
    create_errors: dict[str, str] | None = None,
    create_values: dict[str, str] | None = None,
    settings_errors: dict[str, dict[str, str]] | None = None,
) -> web.Response:
    store = state.services(request).store
    clients = await store.list_clients()
    clients.sort(key=lambda c: (c.last_name.casefold(), c.first_name.casefold()))
    entries: list[dict[str, Any]] = []
    for client in clients:
        devices = await store.devices_for_client(client.id)
        entries.append(
            {
                "client": client,
                "devices": [
                    {
                        "device": device,
                        "created_text": short_time(device.created_at),
                        "revoked_text": short_time(device.revoked_at),
                    }
                    for device in sorted(devices, key=lambda d: d.created_at, reverse=True)
                ],
                "errors": (settings_errors or {}).get(client.id, {}),
            }
        )
    return render(
        request,
        "admin.html",
        {
            "page": "admin",
            "entries": entries,
            "languages": LANGUAGE_NAMES,
            "auto_answer_max_s": AUTO_ANSWER_MAX_S,
            "name_max": NAME_MAX,
            "notice": NOTICES.get(request.query.get("notice", ""), ""),
            "create_errors": create_errors or {},
            "create_values": create_values or {},
        },
        status=status,
    )


async def admin_page(request: web.Request) -> web.StreamResponse:
    return await _admin_page(request)


async def client_create(request: web.Request) -> web.StreamResponse:
    form = FormReader(await request.post())
    first_name = form.text("first_name", "First name", max_len=NAME_MAX)
    last_name = form.text("last_name", "Last name", max_len=NAME_MAX)
    settings = read_answering(form, ClientSettings())
    try:
        form.raise_if_invalid()
    except FormError as exc:
        values = {
            name: form.raw(name)[:100]
            for name in ("first_name", "last_name", "language", "auto_answer_after_s")
        }
        values["auto_answer"] = "on" if form.raw("auto_answer") else ""
        return await _admin_page(
            request, status=400, create_errors=exc.errors, create_values=values
        )
    client = Client(
        id=str(uuid.uuid4()), first_name=first_name, last_name=last_name, settings=settings
    )
    await state.services(request).store.add_client(client)
    raise web.HTTPSeeOther(f"/admin?notice=client_created#client-{client.id}")


async def client_settings(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    form = FormReader(await request.post())
    # This form holds language and answering only; volume, text size, quiet hours and the
    # family setting (the fleet page's) stay as they are.
    settings = read_answering(form, client.settings)
    if form.errors:
        return await _admin_page(request, status=400, settings_errors={client.id: form.errors})
    await save_tablet_settings(request, client.id, settings, "tablet settings")
    raise web.HTTPSeeOther(f"/admin?notice=settings_saved#client-{client.id}")


async def pairing_code(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    services = state.services(request)
    issued = await services.auth.issue_pairing_code(
        client.id, issued_by=state.principal(request).subject_id
    )
    return render(
        request,
        "pairing_code.html",
        {
            "page": "admin",
            "client": client,
            "code": issued.code,
            "valid_minutes": issued.expires_in_s // 60,
        },
    )


async def device_revoke(request: web.Request) -> web.StreamResponse:
    services = state.services(request)
    device_id = request.match_info["device_id"]
    device = await services.store.revoke_device(device_id, services.clock.now())
    if device is None:
        raise NotFound("There is no such tablet.")
    # The stored revocation alone would let an open socket live until it reconnects.
    await services.live.disconnect_device(device_id)
    await services.access_log.record(
        state.principal(request),
        device.client_id,
        AccessAction.CHANGE,
        DataKind.DEVICES,
        Purpose.ADMINISTRATION,
        "tablet revoked",
    )
    raise web.HTTPSeeOther(f"/admin?notice=device_revoked#client-{device.client_id}")
