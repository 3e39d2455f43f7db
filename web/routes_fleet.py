"""The fleet page for admins: every tablet live, remote settings, enrolment by code or QR.

The page is a shell plus forms: its live table comes over the signaling socket (fleet.js
sends fleet.watch and follows fleet.device and fleet.alerts; docs/protocol.md, "Fleet").
Settings are an ordinary form: saving stores them and pushes settings.update to the
client's tablet, which applies them at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from care_services.fleet import FleetService
from care_sessions.identity import Client
from web import state
from web.forms import FormReader
from web.pairing_qr import kiosk_pairing_url, qr_svg
from web.responses import render
from web.settings_form import (
    AUTO_ANSWER_MAX_S,
    LANGUAGE_NAMES,
    TEXT_SIZE_NAMES,
    read_tablet_settings,
    save_tablet_settings,
)

NOTICES = {
    "settings_sent": "Settings saved and sent to the tablet.",
    "settings_saved": "Settings saved. The tablet is not connected; it gets them when it is.",
}


def add_routes(router: web.UrlDispatcher, id_pattern: str) -> None:
    client = "/admin/fleet/clients/" + id_pattern % "client_id"
    router.add_get("/admin/fleet", fleet_page, name="admin.fleet")
    router.add_post(client + "/settings", fleet_settings, name="admin.fleet_settings")
    router.add_post(client + "/pairing", fleet_pairing, name="admin.fleet_pairing")


def fleet_service(request: web.Request) -> FleetService:
    fleet = state.services(request).fleet
    if fleet is None:
        raise web.HTTPServiceUnavailable(text="the fleet is not enabled on this server")
    return fleet


async def _page(
    request: web.Request,
    *,
    status: int = 200,
    errors: dict[str, dict[str, str]] | None = None,
    submitted: dict[str, dict[str, str]] | None = None,
) -> web.Response:
    services = state.services(request)
    clients = await services.store.list_clients()
    clients.sort(key=lambda c: (c.last_name.casefold(), c.first_name.casefold()))
    entries: list[dict[str, Any]] = []
    for client in clients:
        devices = await services.store.devices_for_client(client.id)
        entries.append(
            {
                "client": client,
                "tablets": sum(1 for device in devices if not device.revoked),
                "errors": (errors or {}).get(client.id, {}),
                "form": (submitted or {}).get(client.id) or _form_values(client),
            }
        )
    return render(
        request,
        "fleet.html",
        {
            "page": "fleet",
            "entries": entries,
            "languages": LANGUAGE_NAMES,
            "text_sizes": TEXT_SIZE_NAMES,
            "auto_answer_max_s": AUTO_ANSWER_MAX_S,
            "notice": NOTICES.get(request.query.get("notice", ""), ""),
        },
        status=status,
    )


def _form_values(client: Client) -> dict[str, str]:
    """The stored settings as the form shows them (and as a refused form is refilled)."""
    settings = client.settings
    quiet = settings.quiet_hours
    return {
        "language": settings.language.value,
        "auto_answer": "on" if settings.auto_answer else "",
        "auto_answer_after_s": str(settings.auto_answer_after_s),
        "volume": str(settings.volume),
        "text_size": settings.text_size.value,
        "quiet_from": f"{quiet.start:%H:%M}" if quiet else "",
        "quiet_until": f"{quiet.end:%H:%M}" if quiet else "",
        "family_auto_answer": "on" if settings.family_auto_answer else "",
    }


async def fleet_page(request: web.Request) -> web.StreamResponse:
    return await _page(request)


async def fleet_settings(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    form = FormReader(await request.post())
    settings = read_tablet_settings(form)
    if form.errors:
        refill = {name: form.raw(name)[:20] for name in _form_values(client)}
        return await _page(
            request, status=400, errors={client.id: form.errors}, submitted={client.id: refill}
        )
    fleet_service(request)  # 503 before anything is stored where no fleet runs
    delivered = await save_tablet_settings(
        request, client.id, settings, "tablet settings (fleet page)"
    )
    notice = "settings_sent" if delivered else "settings_saved"
    raise web.HTTPSeeOther(f"/admin/fleet?notice={notice}#settings-{client.id}")


async def fleet_pairing(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    services = state.services(request)
    issued = await services.auth.issue_pairing_code(
        client.id, issued_by=state.principal(request).subject_id
    )
    base = services.settings.public_url or str(request.url.origin())
    url = kiosk_pairing_url(base, issued.code)
    return render(
        request,
        "fleet_pairing.html",
        {
            "page": "fleet",
            "client": client,
            "code": issued.code,
            "kiosk_url": url,
            "qr": qr_svg(url, f"QR code: pair a tablet for {client.first_name}"),
            "valid_minutes": issued.expires_in_s // 60,
        },
    )
