"""Permissions as data: every route and every message type, with every role.

A route or message type without a rule in care_sessions/permissions.py fails here, and so
does any answer that disagrees with the rule (allowed but refused, or refused but served).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest

from care_sessions.auth import staff_principal
from care_sessions.consent import ConsentPurpose
from care_sessions.identity import Role
from care_sessions.permissions import ROUTE_RULES
from protocol.messages import CLIENT_MESSAGE_TYPES
from signaling.routes import MESSAGE_ROLES
from tests.conftest import RunningServer, make_config, serving
from tests.integration.wire import RawSocket, replies_about

UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"
PASSWORD = "role-test-password"
PROBE_TOKEN = "role-test-probe-token"
STAFF_ROLES = (Role.NURSE, Role.HOST, Role.ADMIN)
PLAUSIBLE_SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\n"
    "a=fingerprint:sha-256 00:11\r\n"
)
# Logout ends the caller's session; the login form's CSRF check answers before any role
# matters (tests/web covers both).
SKIPPED_ROUTES = {"POST logout", "POST login"}
# Static routes serve files: ask for a real one.
STATIC_FILES = {"static": "/static/css/app.css", "static.tablet": "/static/tablet/kiosk.js"}


async def _as_role(server: RunningServer, role: Role) -> tuple[dict[str, str], dict[str, str]]:
    """Cookies and headers that make a request come from someone with this role."""
    if role is Role.ANONYMOUS:
        return {}, {}
    if role is Role.TABLET:
        client = await server.add_client("Role")
        return {}, {"Authorization": f"Bearer {await server.enrol_tablet(client)}"}
    if role is Role.PROBE:
        return {}, {"Authorization": f"Bearer {PROBE_TOKEN}"}
    if role is Role.FAMILY:
        # A relative's link: its secret goes in the socket's hello (never to HTTP routes).
        client = await server.add_client("Role")
        assert server.admin is not None
        admin = staff_principal(server.admin)
        await server.services.consents.decide(client.id, ConsentPurpose.FAMILY_CALLS, True, admin)
        invitation = await server.services.family.invite(client, "Relative", "son", admin)
        return {}, {"Authorization": f"Bearer {invitation.token}"}
    username = f"role-{role.value}"
    if await server.services.store.staff_by_username(username) is None:
        await server.add_staff(username, role, PASSWORD)
    session = await server.services.auth.login(username, PASSWORD)
    return {"hoiva_session": session.token}, {"X-CSRF-Token": session.csrf_token}


async def test_every_route_answers_as_its_rule_says(server: RunningServer) -> None:
    routes = [
        (route.method, route.name, route.resource.canonical)
        for route in server.runner.app.router.routes()
        if route.method != "HEAD" and route.name is not None and route.resource is not None
    ]
    missing = [f"{m} {n}" for m, n, _ in routes if f"{m} {n}" not in ROUTE_RULES]
    assert not missing, f"routes without a permission rule: {missing}"
    assert len(routes) >= 20
    disagreements = []
    for role in Role:
        if role in (Role.FAMILY, Role.PROBE):
            continue  # their secrets work on the WebSocket only; over HTTP they are anonymous
        for method, name, canonical in routes:
            key = f"{method} {name}"
            if key in SKIPPED_ROUTES:
                continue
            cookies, headers = await _as_role(server, role)
            path = STATIC_FILES.get(name) or re.sub(r"\{[^}]+\}", UNKNOWN_ID, canonical)
            if name == "ws":
                headers = {**headers, "Connection": "close"}
            async with (
                aiohttp.ClientSession(cookies=cookies) as http,
                http.request(
                    method, f"{server.url}{path}", headers=headers, allow_redirects=False
                ) as response,
            ):
                status = response.status
            # The permission middleware sends signed-out browsers to /login?next=...
            refused = status in (401, 403) or (
                status == 302 and "/login?next=" in response.headers.get("Location", "")
            )
            allowed = role in ROUTE_RULES[key]
            if allowed == refused:
                disagreements.append(f"{role.value} {key} -> {status}")
    assert not disagreements, "\n".join(disagreements)


def _sample(message_type: type[Any]) -> dict[str, Any]:
    """A well-formed message of this type, so that only the role decides the answer."""
    sample: dict[str, Any] = {"type": message_type.__struct_config__.tag}
    for field in msgspec.structs.fields(message_type):
        if field.required:
            if field.name == "sdp":
                sample[field.name] = PLAUSIBLE_SDP
            else:
                sample[field.name] = _value_for(field.type)
    return sample


def _value_for(annotation: Any) -> Any:
    info = msgspec.inspect.type_info(annotation)
    match info:
        case msgspec.inspect.StrType():
            return "x" * max(1, info.min_length or 1) if info.pattern is None else "abc-1"
        case msgspec.inspect.IntType():
            return max(info.ge or 0, info.gt + 1 if info.gt is not None else 0, 1)
        case msgspec.inspect.FloatType():
            return float(max(info.ge or 0, 1))
        case msgspec.inspect.BoolType():
            return True
        case msgspec.inspect.LiteralType():
            return info.values[0]
        case msgspec.inspect.EnumType():
            return next(iter(info.cls)).value
        case msgspec.inspect.ListType():
            return []
        case msgspec.inspect.UnionType():
            return _value_for_info(info.types[0])
    raise AssertionError(f"add a sample value for {annotation!r} in {__name__}")


def _value_for_info(info: Any) -> Any:
    if isinstance(info, msgspec.inspect.NoneType):
        return None
    if isinstance(info, msgspec.inspect.StrType):
        return "abc-1"
    raise AssertionError(f"add a sample value for {info!r}")


@pytest.fixture
async def roomy_server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    """Two messages per type exceed the default burst of 50; this test is not a flood."""
    async with serving(
        make_config(tmp_path, **{"signaling.message_burst": 10_000, "probe.token": PROBE_TOKEN})
    ) as running:
        yield running


@pytest.mark.parametrize(
    "role", [Role.TABLET, Role.FAMILY, Role.PROBE, Role.NURSE, Role.HOST, Role.ADMIN]
)
async def test_every_message_type_answers_as_its_rule_says(
    roomy_server: RunningServer, role: Role
) -> None:
    server = roomy_server
    types = {t.__struct_config__.tag: t for t in CLIENT_MESSAGE_TYPES}
    assert set(types) == set(MESSAGE_ROLES), "message types and rules differ"
    cookies, headers = await _as_role(server, role)
    http = aiohttp.ClientSession(cookies=cookies)
    token = headers.get("Authorization", "").removeprefix("Bearer ") or None
    sock = await RawSocket.open(server.ws_url, http=http)
    await sock.send({"type": "hello", **({"token": token} if token else {})})
    await sock.expect("welcome")
    disagreements = []
    try:
        for tag, message_type in sorted(types.items()):
            if tag == "hello":
                continue
            answers = await replies_about(sock, _sample(message_type), tag)
            codes = {m.get("code") for m in answers if m["type"] == "error"}
            assert "bad_message" not in codes, f"the sample for {tag} is malformed: {answers}"
            refused = "forbidden" in codes
            if (role in MESSAGE_ROLES[tag]) == refused:
                disagreements.append(f"{role.value} {tag} -> {answers}")
    finally:
        await sock.close()
    assert not disagreements, "\n".join(disagreements)
