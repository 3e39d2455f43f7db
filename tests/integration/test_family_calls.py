"""Family calls over the real protocol: consent, the five-contact limit, quiet hours, revoked
links, and a care call taking precedence over a relative's call (with real media)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from care_services.client_data import erase_optional, export_client
from care_sessions.access_log import Purpose
from care_sessions.auth import staff_principal
from care_sessions.consent import ConsentPurpose, ConsentRequired
from care_sessions.errors import InvalidState
from care_sessions.family import HELSINKI, MAX_FAMILY_CONTACTS
from care_sessions.identity import Client, QuietHours
from care_sessions.records import EndReason, SessionKind
from tablet_client.headless import HeadlessTablet
from tablet_client.headless_family import HeadlessRelative
from tablet_client.headless_staff import HeadlessNurse
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.integration.wire import RawSocket, staff_socket


async def _analysed_calls(server: RunningServer) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{server.url}/metrics") as response:
        text = await response.text()
    return next(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hoiva_analysed_calls"
    )


async def _consent(server: RunningServer, client: Client, granted: bool = True) -> None:
    assert server.admin is not None
    await server.services.consents.decide(
        client.id, ConsentPurpose.FAMILY_CALLS, granted, staff_principal(server.admin)
    )


async def _invite(server: RunningServer, client: Client, name: str = "Anna") -> str:
    """A relative's link secret, through the family circle the staff page uses."""
    nurse = staff_principal(server.nurses[0])
    invitation = await server.services.family.invite(client, name, "daughter", nurse)
    return invitation.token


async def _family_client(server: RunningServer, **settings: object) -> Client:
    client = await server.add_client("Aino")
    if settings:
        changed = dataclasses.replace(client.settings, **settings)  # type: ignore[arg-type]
        await server.services.store.update_client_settings(client.id, changed)
    await _consent(server, client)
    return client


async def test_a_relative_calls_the_tablet_and_both_see_each_other(server: RunningServer) -> None:
    client = await _family_client(server)
    link = await _invite(server, client)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(client), answer_after_s=0.2)
    relative = HeadlessRelative(server.url, link)
    await tablet.start()
    await relative.start()
    try:
        assert relative.welcome is not None and relative.welcome.role == "family"
        assert relative.client_id == client.id
        call_id = await relative.call(client.id)
        await relative.accepted.wait()
        assert relative.peer is not None
        await relative.peer.wait_for_video_frames(10, timeout=15)
        assert tablet.peer is not None
        await tablet.peer.wait_for_video_frames(10, timeout=15)
        await relative.hang_up()
        await tablet.call_over.wait()
        record = await server.services.store.session(call_id)
        assert record is not None
        assert record.kind is SessionKind.FAMILY_CALL
        assert record.end_reason is EndReason.COMPLETED
        names = {p.kind: p.display_name for p in record.participants}
        assert names == {"family": "Anna (daughter)", "client": "Aino T."}
    finally:
        await relative.stop()
        await tablet.stop()


async def test_a_nurse_call_preempts_a_family_call(server: RunningServer) -> None:
    client = await _family_client(server)
    tablet = HeadlessTablet(server.url, await server.enrol_tablet(client), answer_after_s=0.2)
    relative = HeadlessRelative(server.url, await _invite(server, client))
    nurse = HeadlessNurse(server.url, "nurse1", NURSE_PASSWORD)
    for party in (tablet, relative, nurse):
        await party.start()
    try:
        family_call = await relative.call(client.id)
        await relative.accepted.wait()
        # To care staff the client is free: the roster does not say "in a call".
        assert nurse.view.presence.get(client.id) == "online"
        # Nobody looks at the client's camera in a private family call...
        assert relative.peer is not None
        await relative.peer.wait_for_video_frames(10, timeout=15)
        await asyncio.sleep(1.5)
        assert await _analysed_calls(server) == 0

        care_call = await nurse.call(client.id)
        await relative.ended.wait()
        assert relative.view.ended[family_call] == "preempted"
        assert tablet.log.ended[family_call] == "preempted"
        await nurse.accepted.wait()
        assert nurse.peer is not None
        await nurse.peer.wait_for_video_frames(5, timeout=15)
        assert tablet.call_id == care_call
        # ...while a care call gets the nurse's camera hints as usual.
        for _ in range(50):
            if await _analysed_calls(server) == 1:
                break
            await asyncio.sleep(0.2)
        assert await _analysed_calls(server) == 1
        record = await server.services.store.session(family_call)
        assert record is not None and record.end_reason is EndReason.PREEMPTED
    finally:
        for party in (nurse, relative, tablet):
            await party.stop()


async def test_a_family_call_does_not_preempt_care(server: RunningServer) -> None:
    client = await _family_client(server)
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    relative = await RawSocket.open(server.ws_url, token=await _invite(server, client))
    try:
        await nurse.send({"type": "call.start", "client_id": client.id})
        care = await tablet.expect("call.incoming")
        assert care["caller_kind"] == "care"
        await relative.send({"type": "call.start", "client_id": client.id})
        assert (await relative.expect("call.ended"))["reason"] == "busy"
        await tablet.send({"type": "call.answer", "call_id": care["call_id"]})
        assert (await nurse.expect("call.accepted"))["call_id"] == care["call_id"]
    finally:
        for sock in (relative, nurse, tablet):
            await sock.close()


async def test_quiet_hours_hold_family_calls_but_not_care(server: RunningServer) -> None:
    now = datetime.now(UTC).astimezone(HELSINKI)
    quiet = QuietHours((now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time())
    client = await _family_client(server, quiet_hours=quiet)
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    relative = await RawSocket.open(server.ws_url, token=await _invite(server, client))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        await relative.send({"type": "call.start", "client_id": client.id})
        ended = await relative.expect("call.ended")
        assert ended["reason"] == "quiet_hours"
        assert f"after {quiet.end:%H:%M}" in ended["message"]
        record = await server.services.store.session(ended["call_id"])
        assert record is not None and record.end_reason is EndReason.QUIET_HOURS

        await nurse.send({"type": "call.start", "client_id": client.id})
        incoming = await tablet.expect("call.incoming")
        # The tablet never heard of the held-back family call.
        assert incoming["caller_kind"] == "care"
        assert not [m for m in tablet.seen if m.get("call_id") == ended["call_id"]]
    finally:
        for sock in (nurse, relative, tablet):
            await sock.close()


async def test_outside_quiet_hours_family_calls_ring_or_auto_answer_as_set(
    server: RunningServer,
) -> None:
    now = datetime.now(UTC).astimezone(HELSINKI)
    later = QuietHours((now + timedelta(hours=2)).time(), (now + timedelta(hours=3)).time())
    client = await _family_client(
        server, quiet_hours=later, family_auto_answer=True, auto_answer_after_s=3
    )
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    relative = await RawSocket.open(server.ws_url, token=await _invite(server, client))
    try:
        await relative.send({"type": "call.start", "client_id": client.id})
        incoming = await tablet.expect("call.incoming")
        assert incoming["caller_kind"] == "family"
        assert incoming["caller_name"] == "Anna (daughter)"
        assert incoming["auto_answer_after_s"] == 3
        await relative.send({"type": "call.end", "call_id": incoming["call_id"]})
        assert (await tablet.expect("call.ended"))["reason"] == "cancelled"

        manual = dataclasses.replace(client.settings, family_auto_answer=False, auto_answer=True)
        await server.services.store.update_client_settings(client.id, manual)
        await relative.send({"type": "call.start", "client_id": client.id})
        incoming = await tablet.expect("call.incoming")
        # Care calls may auto-answer; a relative's call rings for the client to take.
        assert incoming.get("auto_answer_after_s") is None
    finally:
        for sock in (relative, tablet):
            await sock.close()


async def test_a_revoked_link_is_disconnected_and_refused(server: RunningServer) -> None:
    client = await _family_client(server)
    link = await _invite(server, client)
    relative = await RawSocket.open(server.ws_url, token=link)
    try:
        [contact] = await server.services.family.contacts(client.id)
        nurse = staff_principal(server.nurses[0])
        await server.services.family.revoke(client.id, contact.id, nurse)
        await server.services.signaling.disconnect_device(contact.id)
        assert await relative.next() is None
        assert relative.close_code == 4003
        again = await RawSocket.open(server.ws_url)
        await again.send({"type": "hello", "token": link})
        assert (await again.expect("error"))["code"] == "not_authenticated"
        await again.close()
    finally:
        await relative.close()


async def test_a_link_calls_only_its_own_client_and_nothing_else(server: RunningServer) -> None:
    client = await _family_client(server)
    other = await server.add_client("Bertta")
    other_tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(other))
    relative = await RawSocket.open(server.ws_url, token=await _invite(server, client))
    try:
        await relative.send({"type": "call.start", "client_id": other.id, "ref": "x"})
        error = await relative.expect("error")
        assert (error["code"], error["ref"]) == ("not_found", "x")
        for forbidden in (
            {"type": "help.request"},
            {"type": "checkin.pending"},
            {"type": "room.sync"},
            {"type": "call.answer", "call_id": "c"},
        ):
            await relative.send({**forbidden, "ref": "f"})
            assert (await relative.expect("error"))["code"] == "forbidden", forbidden
        assert server.services.signaling.calls.live_calls() == []
    finally:
        await relative.close()
        await other_tablet.close()


async def test_consent_and_the_five_contact_limit(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    with pytest.raises(ConsentRequired):
        await _invite(server, client)
    await _consent(server, client)
    links = [await _invite(server, client, f"Relative {n}") for n in range(MAX_FAMILY_CONTACTS)]
    with pytest.raises(InvalidState):
        await _invite(server, client, "One too many")
    sockets = [await RawSocket.open(server.ws_url, token=link) for link in links[:2]]
    try:
        # Withdrawing consent revokes every link and closes what is open.
        await _consent(server, client, granted=False)
        nurse = staff_principal(server.nurses[0])
        for contact in await server.services.family.revoke_all(client.id, nurse):
            await server.services.signaling.disconnect_device(contact.id)
        for sock in sockets:
            assert await sock.next() is None
            assert sock.close_code == 4003
        assert all(c.revoked for c in await server.services.family.contacts(client.id))
    finally:
        for sock in sockets:
            await sock.close()


async def test_export_lists_the_circle_without_secrets_and_erasure_removes_it(
    server: RunningServer,
) -> None:
    client = await _family_client(server)
    link = await _invite(server, client)
    relative = await RawSocket.open(server.ws_url, token=link)
    try:
        admin = staff_principal(server.admin) if server.admin else None
        assert admin is not None
        document = await export_client(server.services, client.id, admin, Purpose.CLIENT_REQUEST)
        [contact] = document["family_contacts"]
        assert (contact["name"], contact["relation"]) == ("Anna", "daughter")
        assert link not in json.dumps(document) and "token_digest" not in json.dumps(document)

        erased = await erase_optional(server.services, client.id, admin)
        assert erased["erased"]["family_contacts"] == 1
        assert await relative.next() is None
        assert relative.close_code == 4003
        assert await server.services.family.contacts(client.id) == []
    finally:
        await relative.close()
