"""Care plans as forms, the nurses' JSON lists, and the demo's seeded care."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from care_services.checkins import CheckinService
from care_sessions.access_log import AccessQuery
from care_sessions.checkins import CheckinStatus
from care_sessions.reports import ReportRequest, build_report
from care_sessions.schedule import local_day
from hoiva.app import build_services, close_services
from hoiva.demo import seed_demo
from tests.conftest import NURSE_PASSWORD, RunningServer, make_config
from tests.web.staff_client import StaffBrowser


def _service(server: RunningServer) -> CheckinService:
    service = server.services.signaling.checkins
    assert service is not None
    return service


def _item_form(**changes: str) -> dict[str, str]:
    form = {
        "kind": "medication",
        "label": "evening medicine",
        "medication": "Metformin",
        "dose": "500 mg",
        "times": "08:00, 18:00",
        "window_min": "30",
        "completed_by": "client",
        "remind": "on",
        **{f"day{day}": "on" for day in range(7)},
    }
    form.update(changes)
    return form


async def test_nurse_adds_and_removes_a_plan_item(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        page = await nurse.get(f"/clients/{client.id}/plan")
        assert page.status == 200
        assert "Care plan: Aino Testinen" in await page.text()

        added = await nurse.post_form(f"/clients/{client.id}/plan/items", _item_form())
        assert added.status == 303
        assert added.headers["Location"].endswith("notice=item_added")
        [item] = await _service(server).store.plan_items(client.id)
        assert (item.detail, item.created_by) == ("Metformin 500 mg", server.nurses[0].id)
        # Today's and tomorrow's check-ins exist at once (those whose window is still ahead).
        day_list = await (await nurse.get("/api/checkins/today")).json()
        mine = [entry for entry in day_list if entry["client_id"] == client.id]
        assert all(entry["label"] == "evening medicine" for entry in mine)
        page = await (await nurse.get(f"/clients/{client.id}/plan")).text()
        assert "08:00, 18:00, every day, ±30 min" in page

        removed = await nurse.post_form(f"/clients/{client.id}/plan/items/{item.id}/end", {})
        assert removed.status == 303
        # Reading and changing the plan are in the client's access log, with who and why.
        logged = await server.services.access_log.search(AccessQuery(client_id=client.id))
        logged_pairs = {(e.action.value, e.data.value) for e in logged}
        assert logged_pairs >= {("read", "care_plan"), ("change", "care_plan")}
        # The day list named this client's check-ins only if one was still ahead today (the
        # wall clock decides); reading them is logged exactly when they were shown.
        assert (("read", "outcomes") in logged_pairs) == bool(mine)
        assert {e.actor_id for e in logged} == {server.nurses[0].id}
        assert await _service(server).store.plan_items(client.id) == []
        # Ending a plan item cancels what is still scheduled; a check-in already due (this
        # test runs on the wall clock, so that depends on the hour) stays for follow-up.
        for entry in mine:
            checkin = await _service(server).store.checkin(entry["checkin_id"])
            assert checkin is not None
            expected = (
                CheckinStatus.CANCELLED if entry["status"] == "scheduled" else CheckinStatus.DUE
            )
            assert checkin.status is expected


async def test_invalid_plan_forms_say_what_is_wrong(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        for changes, message in (
            ({"times": "25:00"}, "not a time such as 08:00"),
            ({"medication": ""}, "needs the medicine"),
            ({"window_min": "600"}, "Window must be from 5 to 240"),
            ({"kind": "visit", "completed_by": "client"}, "completed by a nurse"),
            ({"kind": "teleport"}, "Kind must be one of"),
        ):
            response = await nurse.post_form(
                f"/clients/{client.id}/plan/items", _item_form(**changes)
            )
            assert response.status == 400, changes
            assert message in await response.text(), message
        no_days = {k: v for k, v in _item_form().items() if not k.startswith("day")}
        response = await nurse.post_form(f"/clients/{client.id}/plan/items", no_days)
        assert "choose at least one weekday" in await response.text()
        assert await _service(server).store.plan_items(client.id) == []
        other = await nurse.post_form("/clients/no-such-client/plan/items", _item_form())
        assert other.status == 404


async def test_team_and_driving_distance(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        saved = await nurse.post_form(
            f"/clients/{client.id}/profile", {"team": "Kallio", "km_per_visit": "14,5"}
        )
        assert saved.status == 303
        bad = await nurse.post_form(f"/clients/{client.id}/profile", {"km_per_visit": "far"})
        assert bad.status == 400
    profile = await _service(server).store.care_profile(client.id)
    assert profile is not None and (profile.team, profile.km_per_visit) == ("Kallio", 14.5)


async def test_lists_need_care_staff(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    async with StaffBrowser(server.url) as nobody:
        for path in ("/api/checkins/today", "/api/escalations", "/api/attention"):
            assert (await nobody.get(path)).status == 401
            tablet = await nobody.get(path, headers={"Authorization": f"Bearer {token}"})
            assert tablet.status == 403
        assert (await nobody.get(f"/clients/{client.id}/plan")).status == 302
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        assert await (await nurse.get("/api/escalations")).json() == []
        assert await (await nurse.get("/api/attention")).json() == []


async def test_demo_seeds_plans_and_history_once(tmp_path: Path) -> None:
    services = await build_services(make_config(tmp_path))
    try:
        await seed_demo(services, tmp_path / "tokens.json")
        service = services.signaling.checkins
        assert service is not None
        assert len(await service.store.plan_items()) == 8
        await seed_demo(services, tmp_path / "tokens.json")
        assert len(await service.store.plan_items()) == 8, "a second run adds nothing"
        assert await service.store.teams() == ["Kallio", "Malmi", "Vallila"]
        today = local_day(services.clock.now())
        report = await build_report(service.store, ReportRequest(today - timedelta(days=28), today))
        assert report.totals.checkins_due > 100 and report.totals.virtual_visits > 20
    finally:
        await close_services(services)
