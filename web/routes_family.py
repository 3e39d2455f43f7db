"""The family circle: staff manage a client's relatives; relatives call from their link."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.consent import ConsentPurpose
from care_sessions.errors import CareSessionError
from care_sessions.family import MAX_FAMILY_CONTACTS, NAME_MAX, RELATION_MAX, FamilyContact
from care_sessions.identity import Client
from web import state
from web.forms import FormReader
from web.presenters import short_time
from web.responses import render

NOTICES = {"revoked": "The link was revoked. Anyone using it was disconnected."}


def _contact_row(contact: FamilyContact) -> dict[str, Any]:
    return {
        "contact": contact,
        "created_text": short_time(contact.created_at),
        "revoked_text": short_time(contact.revoked_at),
    }


def call_link(request: web.Request, token: str) -> str:
    """The personal link; the secret rides in the fragment, which browsers never send to a
    server, so it stays out of proxies' and Hoiva's access logs."""
    public = state.services(request).settings.public_url
    origin = public.rstrip("/") if public else str(request.url.origin())
    return f"{origin}/family#{token}"


async def _family_page(
    request: web.Request,
    client: Client,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    new_link: str | None = None,
    new_contact: FamilyContact | None = None,
) -> web.Response:
    services = state.services(request)
    contacts = await services.family.contacts(client.id)
    active = [c for c in contacts if not c.revoked]
    consented = await services.consents.allows(client.id, ConsentPurpose.FAMILY_CALLS)
    await services.access_log.record(
        state.principal(request),
        client.id,
        AccessAction.READ,
        DataKind.FAMILY,
        Purpose.CARE,
        "family contacts",
    )
    return render(
        request,
        "family_contacts.html",
        {
            "page": "admin",
            "client": client,
            "active": [_contact_row(c) for c in active],
            "revoked": [_contact_row(c) for c in contacts if c.revoked],
            "consented": consented,
            "can_add": consented and len(active) < MAX_FAMILY_CONTACTS,
            "max_contacts": MAX_FAMILY_CONTACTS,
            "name_max": NAME_MAX,
            "relation_max": RELATION_MAX,
            "errors": errors or {},
            "values": values or {},
            "new_link": new_link,
            "new_contact": new_contact,
            "notice": NOTICES.get(request.query.get("notice", ""), ""),
            "quiet_hours": client.settings.quiet_hours,
            "family_auto_answer": client.settings.family_auto_answer,
        },
        status=status,
    )


async def family_page(request: web.Request) -> web.StreamResponse:
    return await _family_page(request, await state.client_in_path(request))


async def family_invite(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    form = FormReader(await request.post())
    name = form.text("name", "Name", max_len=NAME_MAX)
    relation = form.text("relation", "Relation", max_len=RELATION_MAX, min_len=0)
    values = {"name": form.raw("name")[:100], "relation": form.raw("relation")[:100]}
    if form.errors:
        return await _family_page(request, client, status=400, errors=form.errors, values=values)
    services = state.services(request)
    who = state.principal(request)
    try:
        invitation = await services.family.invite(client, name, relation, who)
    except CareSessionError as exc:
        # No consent, or the circle is full: the form says so and keeps what was typed.
        return await _family_page(
            request, client, status=409, errors={"name": str(exc)}, values=values
        )
    await services.access_log.record(
        who, client.id, AccessAction.CHANGE, DataKind.FAMILY, Purpose.CARE, "contact added"
    )
    # Rendered, not redirected: the link is shown this once and never stored in clear.
    return await _family_page(
        request,
        client,
        new_link=call_link(request, invitation.token),
        new_contact=invitation.contact,
    )


async def family_revoke(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    services = state.services(request)
    who = state.principal(request)
    contact = await services.family.revoke(client.id, request.match_info["contact_id"], who)
    # The stored revocation alone would let an open call or socket live on.
    await services.live.disconnect_device(contact.id)
    await services.access_log.record(
        who, client.id, AccessAction.CHANGE, DataKind.FAMILY, Purpose.CARE, "link revoked"
    )
    raise web.HTTPSeeOther(f"/admin/clients/{client.id}/family?notice=revoked")


async def family_call_page(request: web.Request) -> web.StreamResponse:
    """The relative's page: a shell; it reads the secret from the fragment and connects."""
    return render(request, "family_call.html", {})


def add_routes(router: web.UrlDispatcher, id_pattern: str) -> None:
    client_path = "/admin/clients/" + id_pattern % "client_id" + "/family"
    router.add_get(client_path, family_page, name="admin.family")
    router.add_post(client_path, family_invite, name="admin.family_invite")
    router.add_post(
        client_path + "/" + id_pattern % "contact_id" + "/revoke",
        family_revoke,
        name="admin.family_revoke",
    )
    router.add_get("/family", family_call_page, name="family")
