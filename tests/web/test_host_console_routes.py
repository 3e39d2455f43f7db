"""The rooms pages over HTTP: hosts land on their rooms, forms are validated field by field,
hosts see and edit only their own rooms, and attendance lists absent members too."""

from __future__ import annotations

from typing import Any

import aiohttp

from care_sessions.identity import Principal, Role
from care_sessions.meal_rooms import SessionEndReason
from tests.conftest import NURSE_PASSWORD, RunningServer
from tests.integration.meal_harness import HOST_PASSWORD, rooms_of
from tests.web.staff_client import StaffBrowser


def _room_form(name: str, **extra: str) -> dict[str, str]:
    return {
        "name": name,
        "kind": "meal",
        "scheduled": "on",
        "start": "11:30",
        "end": "12:15",
        "capacity": "12",
        **extra,
    }


async def _post_room(
    browser: StaffBrowser, path: str, form: dict[str, str], members: list[str]
) -> aiohttp.ClientResponse:
    data: list[tuple[str, Any]] = list(form.items())
    data += [("weekday", str(d)) for d in range(5)]
    data += [("member", m) for m in members]
    data.append(("csrf_token", browser.csrf))
    response = await browser.http.post(browser.url(path), data=data, allow_redirects=False)
    await response.read()
    return response


async def test_host_creates_edits_and_opens_only_own_rooms(server: RunningServer) -> None:
    """A host signs in to the room list, creates a weekday lunch, edits it, and cannot see
    or open another host's room; bad input gets a message per field."""
    await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
    hilla = await server.add_staff("hilla", Role.HOST, HOST_PASSWORD)
    aino = await server.add_client("Aino")
    eino = await server.add_client("Eino")
    async with StaffBrowser(server.url) as browser:
        response = await browser.login("hannu", HOST_PASSWORD)
        assert response.headers["Location"] == "/rooms"
        browser.csrf = await browser.page_csrf("/rooms")
        page = await browser.get("/rooms")
        assert page.status == 200 and "No rooms yet" in await page.text()

        bad = await _post_room(
            browser, "/rooms", _room_form("", start="25:99", capacity="99"), [aino.id]
        )
        text = await bad.text()
        assert bad.status == 400
        assert "Name is required" in text and "Start must be a time" in text
        assert "Capacity must be from 1 to 16" in text

        created = await _post_room(browser, "/rooms", _room_form("Kallio lunch"), [aino.id])
        assert created.status == 303
        [room] = await rooms_of(server).rooms.list_rooms()
        assert room.name == "Kallio lunch" and room.member_ids == (aino.id,)
        assert room.schedule is not None and room.schedule.describe().startswith("Mon-Fri 11:30")

        edited = await _post_room(
            browser, f"/rooms/{room.id}", _room_form("Kallio lunch"), [aino.id, eino.id]
        )
        assert edited.status == 303
        saved = await rooms_of(server).rooms.room(room.id)
        assert saved is not None and saved.member_ids == (aino.id, eino.id)
        console = await browser.get(f"/rooms/{room.id}/console")
        assert console.status == 200
        assert f'data-room-id="{room.id}"' in await console.text()

    async with StaffBrowser(server.url) as browser:
        await browser.login("hilla", HOST_PASSWORD)
        browser.csrf = await browser.page_csrf("/rooms")
        assert "Kallio lunch" not in await (await browser.get("/rooms")).text()
        assert (await browser.get(f"/rooms/{room.id}/console")).status == 404
        hijack = await _post_room(browser, f"/rooms/{room.id}", _room_form("Mine"), [])
        assert hijack.status == 404
        own = await _post_room(browser, "/rooms", _room_form("Hilla's gym", kind="exercise"), [])
        assert own.status == 303
        [gym] = await rooms_of(server).rooms.list_rooms(hilla.id)
        assert gym.kind.value == "exercise"


async def test_nurses_read_attendance_and_cannot_run_rooms(server: RunningServer) -> None:
    """The attendance feed lists every member per meeting; nurses may read it for reports
    but the room pages are for hosts and admins."""
    host = await server.add_staff("hannu", Role.HOST, HOST_PASSWORD)
    aino = await server.add_client("Aino")
    async with StaffBrowser(server.url) as browser:
        await browser.login("hannu", HOST_PASSWORD)
        browser.csrf = await browser.page_csrf("/rooms")
        await _post_room(browser, "/rooms", _room_form("Lunch"), [aino.id])
    [room] = await rooms_of(server).rooms.list_rooms(host.id)
    service = rooms_of(server)
    live = await service.open(Principal(Role.HOST, host.id, "Hannu"), room.id)
    async with service.lock:
        await service.end_session(live, host.id, SessionEndReason.ENDED_BY_HOST)
    await service.flush()

    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        assert (await nurse.get("/rooms")).status == 403
        feed = await nurse.get(f"/api/rooms/{room.id}/attendance")
        assert feed.status == 200
        [meeting] = await feed.json()
        assert meeting["end_reason"] == "ended_by_host"
        assert meeting["members"] == [
            {
                "client_id": aino.id,
                "attended": False,
                "first_joined_at": None,
                "minutes": 0.0,
                "visits": 0,
                "removed": False,
            }
        ]
        assert (await nurse.get("/api/rooms/nope/attendance")).status == 404
