"""Authentication and the tablet's reach: tokens, pairing codes, revocation, staff routes."""

from __future__ import annotations

import re

import aiohttp
import pytest

from care_sessions.errors import AuthenticationFailed
from care_sessions.identity import Role
from care_sessions.permissions import ROUTE_RULES
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.integration.wire import RawSocket, staff_socket

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
# Passes the structural SDP checks, so that the call-ownership check is what answers.
PLAUSIBLE_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
    "a=fingerprint:sha-256 00:11\r\n"
)


async def test_wrong_password_is_refused(server: RunningServer) -> None:
    with pytest.raises(AuthenticationFailed):
        await server.services.auth.login("nurse1", "not-the-password")
    with pytest.raises(AuthenticationFailed):
        await server.services.auth.login("nobody", NURSE_PASSWORD)
    session = await server.services.auth.login("NURSE1 ", NURSE_PASSWORD)
    assert session.user.role is Role.NURSE


async def test_wrong_password_on_the_login_form(server: RunningServer) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        page = await (await http.get(f"{server.url}/login")).text()
        csrf = re.search(r'name="csrf_token"\s+value="([^"]+)"', page)
        assert csrf is not None
        form = {"username": "nurse1", "password": "wrong", "csrf_token": csrf.group(1)}
        response = await http.post(f"{server.url}/login", data=form, allow_redirects=False)
        assert response.status == 401
        assert "hoiva_session" not in {c.key for c in http.cookie_jar}


async def test_tablet_token_reaches_no_staff_route(server: RunningServer) -> None:
    """Walk every registered route: a tablet's bearer token gets 401/403 wherever tablets
    have no rule."""
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    app = server.runner.app
    checked = 0
    async with aiohttp.ClientSession() as http:
        for route in app.router.routes():
            if route.method == "HEAD" or route.name is None:
                continue
            rule = ROUTE_RULES.get(f"{route.method} {route.name}")
            assert rule is not None, f"route {route.method} {route.name} has no permission rule"
            if Role.TABLET in rule:
                continue
            assert route.resource is not None
            path = re.sub(r"\{[^}]+\}", UNKNOWN_ID, route.resource.canonical)
            response = await http.request(
                route.method,
                f"{server.url}{path}",
                headers={"Authorization": f"Bearer {token}"},
                allow_redirects=False,
            )
            assert response.status in (401, 403), f"{route.method} {path}: {response.status}"
            checked += 1
    assert checked >= 8


async def test_tablet_cannot_call_or_see_other_clients(server: RunningServer) -> None:
    aino = await server.add_client("Aino")
    eino = await server.add_client("Eino")
    aino_tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(aino))
    eino_tablet = await RawSocket.open(server.ws_url, token=await server.enrol_tablet(eino))
    nurse = await staff_socket(server, "nurse1", NURSE_PASSWORD)
    try:
        await aino_tablet.send({"type": "call.start", "client_id": eino.id})
        assert (await aino_tablet.expect("error"))["code"] == "forbidden"

        await nurse.send({"type": "call.start", "client_id": eino.id})
        call_id = (await nurse.expect("call.ringing"))["call_id"]
        await eino_tablet.expect("call.incoming")
        for message in (
            {"type": "call.answer", "call_id": call_id},
            {"type": "call.end", "call_id": call_id},
            {"type": "media.offer", "call_id": call_id, "sdp": PLAUSIBLE_SDP},
        ):
            await aino_tablet.send(message)
            assert (await aino_tablet.expect("error"))["code"] == "not_found"
        await aino_tablet.send({"type": "ping"})
        await aino_tablet.expect("pong")
        kinds = {m["type"] for m in aino_tablet.seen}
        assert not kinds & {"presence.snapshot", "presence.update", "help.queue", "call.incoming"}
    finally:
        for sock in (aino_tablet, eino_tablet, nurse):
            await sock.close()


async def test_pairing_code_works_once(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    assert server.admin is not None
    issued = await server.services.auth.issue_pairing_code(client.id, server.admin.id)
    async with aiohttp.ClientSession() as http:
        first = await http.post(f"{server.url}/api/tablet/pair", json={"code": issued.code})
        assert first.status == 200
        token = (await first.json())["token"]
        again = await http.post(f"{server.url}/api/tablet/pair", json={"code": issued.code})
        assert again.status == 400
        me = await http.get(
            f"{server.url}/api/tablet/me", headers={"Authorization": f"Bearer {token}"}
        )
        assert me.status == 200
        assert (await me.json())["client_id"] == client.id


async def test_revoked_token_is_disconnected_and_refused(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    sock = await RawSocket.open(server.ws_url, token=token)
    try:
        devices = await server.services.store.devices_for_client(client.id)
        await server.services.store.revoke_device(devices[0].id, server.services.clock.now())
        await server.services.signaling.disconnect_device(devices[0].id)
        assert await sock.next() is None
        assert sock.close_code == 4003
        again = await RawSocket.open(server.ws_url)
        await again.send({"type": "hello", "token": token})
        assert (await again.expect("error"))["code"] == "not_authenticated"
        await again.close()
    finally:
        await sock.close()
