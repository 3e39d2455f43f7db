"""MyData: the access log, the consent ledger, export and erasure, through the real routes."""

from __future__ import annotations

import aiohttp
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from care_sessions.access_log import AccessAction, AccessQuery, DataKind, Purpose
from care_sessions.consent import ConsentPurpose
from care_sessions.identity import Client
from store import SqlStore
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.integration.wire import RawSocket
from tests.web.staff_client import StaffBrowser


async def _entries(server: RunningServer, client: Client) -> list[tuple[str, str, str]]:
    found = await server.services.access_log.search(AccessQuery(client_id=client.id))
    return [(e.actor_id, e.action.value, e.data.value) for e in found]


async def test_each_kind_of_access_is_logged_and_the_client_sees_it(
    server: RunningServer,
) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    tablet = await RawSocket.open(server.ws_url, token=token)
    await tablet.close()  # leaves a session-less client; the call below gives a record
    nurse_id, admin_id = server.nurses[0].id, server.admin.id if server.admin else ""
    await server.services.signaling.calls.start(
        server.services.auth and await _principal(server, "nurse1"), client.id
    )
    async with StaffBrowser(server.url) as nurse, StaffBrowser(server.url) as admin:
        await nurse.login("nurse1", NURSE_PASSWORD)
        await admin.login("admin", ADMIN_PASSWORD)
        assert (await nurse.get("/sessions")).status == 200
        assert (await nurse.get("/api/sessions")).status == 200
        assert (await nurse.get(f"/admin/clients/{client.id}/privacy")).status == 200
        saved = await admin.post_form(
            f"/admin/clients/{client.id}/settings",
            {"language": "sv", "auto_answer_after_s": "5"},
        )
        assert saved.status == 303
        assert (await admin.get(f"/admin/clients/{client.id}/export")).status == 200

    entries = await _entries(server, client)
    assert (nurse_id, "read", "sessions") in entries
    assert (nurse_id, "read", "consents") in entries
    assert (nurse_id, "read", "access_log") in entries
    assert (admin_id, "change", "profile") in entries
    assert (admin_id, "export", "profile") in entries

    async with aiohttp.ClientSession() as http:
        response = await http.get(
            f"{server.url}/api/tablet/access-log", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == 200
        texts = [e["text"] for e in (await response.json())["entries"]]
    # The admin switched Aino's tablet to Swedish above: her list speaks Swedish.
    assert "Vårdaren Nurse1 tittade på din samtalshistorik (vård)." in texts
    assert "Administratören Admin exporterade dina uppgifter (din begäran)." in texts


async def _principal(server: RunningServer, username: str):  # type: ignore[no-untyped-def]
    from care_sessions.auth import staff_principal

    user = await server.services.store.staff_by_username(username)
    assert user is not None
    return staff_principal(user)


async def test_consent_is_versioned_and_withdrawal_takes_effect_at_once(
    server: RunningServer,
) -> None:
    client = await server.add_client("Aino")
    ledger = server.services.consents
    assert not await ledger.allows(client.id, ConsentPurpose.RECORDING), "nothing is assumed"
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        path = f"/admin/clients/{client.id}/consents"
        given = {"purpose": "recording", "decision": "grant", "note": "asked in person"}
        assert (await nurse.post_form(path, given)).status == 303
        assert await ledger.allows(client.id, ConsentPurpose.RECORDING)
        withdrawn = {"purpose": "recording", "decision": "withdraw", "note": "changed mind"}
        assert (await nurse.post_form(path, withdrawn)).status == 303
        assert not await ledger.allows(client.id, ConsentPurpose.RECORDING)
        bad = await nurse.post_form(path, {"purpose": "telepathy", "decision": "grant"})
        assert bad.status == 400
    history = await ledger.history(client.id)
    assert [(r.version, r.granted, r.note) for r in history] == [
        (1, True, "asked in person"),
        (2, False, "changed mind"),
    ]


async def test_export_holds_everything_and_no_secrets(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    nurse = await _principal(server, "nurse1")
    await server.services.consents.decide(client.id, ConsentPurpose.REPORTS, True, nurse)
    await server.services.signaling.calls.start(nurse, client.id)  # offline: a record
    async with aiohttp.ClientSession() as http:
        response = await http.get(
            f"{server.url}/api/tablet/export", headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status == 200
        document = await response.json()
        raw = await response.text()
    assert document["format"] == "hoiva-client-export/1"
    assert document["client"]["id"] == client.id
    assert len(document["sessions"]) == 1 and document["sessions"][0]["end_reason"] == "offline"
    assert document["consents"][0]["purpose"] == "reports"
    assert len(document["devices"]) == 1
    assert any(e["action"] == "export" for e in document["access_log"])
    assert token not in raw and "token_digest" not in raw


async def test_erasure_removes_optional_data_and_keeps_care_records(
    server: RunningServer,
) -> None:
    client = await server.add_client("Aino")
    tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(client))
    nurse = await _principal(server, "nurse1")
    await server.services.consents.decide(client.id, ConsentPurpose.RECORDING, True, nurse)
    call = await server.services.signaling.calls.start(nurse, client.id)
    await server.services.signaling.calls.hang_up(nurse, call.id)
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        path = f"/admin/clients/{client.id}/erase"
        refused = await admin.post_form(path, {"confirm": "not her name"})
        assert refused.status == 400
        erased = await admin.post_form(path, {"confirm": "Aino"})
        assert erased.status == 200
    while await tablet.next() is not None:
        pass  # the ended call's messages come first, then the close
    assert tablet.close_code == 4003
    await tablet.close()
    store = server.services.store
    assert await store.devices_for_client(client.id) == []
    assert len(await store.sessions_for_client(client.id)) == 1
    assert len(await server.services.consents.history(client.id)) == 1
    entries = await server.services.access_log.search(AccessQuery(client_id=client.id))
    assert any(e.action is AccessAction.ERASE and e.data is DataKind.DEVICES for e in entries)


async def test_access_log_and_consents_are_append_only_in_the_database(
    server: RunningServer,
) -> None:
    client = await server.add_client("Aino")
    nurse = await _principal(server, "nurse1")
    await server.services.consents.decide(client.id, ConsentPurpose.REPORTS, True, nurse)
    await server.services.access_log.record(
        nurse, client.id, AccessAction.READ, DataKind.CONSENTS, Purpose.CARE
    )
    store = server.services.store
    assert isinstance(store, SqlStore)
    for statement in (
        "UPDATE consent_record SET granted = 0",
        "DELETE FROM consent_record",
        "DELETE FROM access_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            async with store.engine.begin() as conn:
                await conn.execute(sa.text(statement))
