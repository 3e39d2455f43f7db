"""Check-ins for the nurses: the day list, the task queue, the attention list, care plans.

The dashboard loads these lists once over HTTP and then follows them over the signaling
socket (checkin.update, escalation.queue, attention.list); outcomes go over the socket too.
Care plans are ordinary forms.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from aiohttp import web

from care_services.checkins import CheckinService
from care_sessions.access_log import AccessAction, DataKind, Purpose
from care_sessions.care_plans import (
    KIND_SPECS,
    LABEL_MAX,
    MEDICATION_MAX,
    WEEKDAY_NAMES,
    WINDOW_MIN_RANGE,
    CareProfile,
    CheckinKind,
    Completer,
    PlanItem,
    format_times,
    parse_times,
    weekdays_text,
)
from care_sessions.errors import InvalidInput, NotFound
from care_sessions.identity import Client
from web import state
from web.forms import FormError, FormReader
from web.responses import render

DOSE_MAX = 40
TEAM_MAX = 60
KM_MAX = 500.0
NOTICES = {
    "item_added": "Check-in added to the plan. Today's and tomorrow's check-ins are ready.",
    "item_ended": "Check-in removed from the plan; its coming check-ins were cancelled.",
    "profile_saved": "Team and driving distance saved.",
}


def add_routes(router: web.UrlDispatcher, id_pattern: str) -> None:
    client = "/clients/" + id_pattern % "client_id"
    router.add_get("/api/checkins/today", api_checkins_today, name="api.checkins_today")
    router.add_get("/api/escalations", api_escalations, name="api.escalations")
    router.add_get("/api/attention", api_attention, name="api.attention")
    router.add_get(client + "/plan", care_plan_page, name="care_plan")
    router.add_post(client + "/plan/items", care_plan_add, name="care_plan.add")
    router.add_post(
        client + "/plan/items/" + id_pattern % "item_id" + "/end",
        care_plan_end,
        name="care_plan.end",
    )
    router.add_post(client + "/profile", care_profile_save, name="care_plan.profile")


def checkin_service(request: web.Request) -> CheckinService:
    service = state.services(request).checkins
    if service is None:
        raise web.HTTPServiceUnavailable(text="check-ins are not enabled on this server")
    return service


async def log_access(
    request: web.Request,
    client_ids: list[str] | str,
    action: AccessAction,
    data: DataKind,
    purpose: Purpose = Purpose.CARE,
) -> None:
    """Every read or change of a client's care data goes into the client's access log."""
    await state.services(request).access_log.record(
        state.principal(request), client_ids, action, data, purpose, request.path
    )


def _json(value: object) -> web.Response:
    return web.Response(body=msgspec.json.encode(value), content_type="application/json")


async def api_checkins_today(request: web.Request) -> web.StreamResponse:
    entries = await checkin_service(request).day_list()
    await log_access(request, [e.client_id for e in entries], AccessAction.READ, DataKind.OUTCOMES)
    return _json(entries)


async def api_escalations(request: web.Request) -> web.StreamResponse:
    tasks = (await checkin_service(request).escalation_queue()).escalations
    await log_access(request, [t.client_id for t in tasks], AccessAction.READ, DataKind.OUTCOMES)
    return _json(tasks)


async def api_attention(request: web.Request) -> web.StreamResponse:
    flags = (await checkin_service(request).attention_list()).flags
    await log_access(request, [f.client_id for f in flags], AccessAction.READ, DataKind.OUTCOMES)
    return _json(flags)


# ---- care plans --------------------------------------------------------------------------


async def _plan_page(
    request: web.Request,
    client: Client,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> web.Response:
    service = checkin_service(request)
    items = await service.store.plan_items(client.id)
    profile = await service.store.care_profile(client.id) or CareProfile(client.id)
    return render(
        request,
        "care_plan.html",
        {
            "page": "dashboard",
            "client": client,
            "items": [_item_view(item) for item in items],
            "today": await service.client_checkins(client.id),
            "profile": profile,
            "default_km": service.settings.km_per_visit,
            "kinds": [(spec.kind.value, spec.title) for spec in KIND_SPECS.values()],
            "weekday_names": list(enumerate(WEEKDAY_NAMES)),
            "window_range": WINDOW_MIN_RANGE,
            "errors": errors or {},
            "values": values or {},
            "notice": NOTICES.get(request.query.get("notice", ""), ""),
        },
        status=status,
    )


def _item_view(item: PlanItem) -> dict[str, Any]:
    return {
        "item": item,
        "kind_title": item.spec.title,
        "times_text": format_times(item.times).replace(",", ", "),
        "weekdays_text": weekdays_text(item.weekdays),
        "completer_text": (
            "client on the tablet" if item.completed_by is Completer.CLIENT else "nurse"
        ),
    }


async def care_plan_page(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    await log_access(request, client.id, AccessAction.READ, DataKind.CARE_PLAN)
    return await _plan_page(request, client)


async def care_plan_add(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    posted = await request.post()
    form = FormReader(posted)
    kind = form.choice("kind", "Kind", CheckinKind, CheckinKind.MEDICATION)
    label = form.text("label", "Name", max_len=LABEL_MAX)
    medication = form.text("medication", "Medicine", max_len=MEDICATION_MAX, min_len=0)
    dose = form.text("dose", "Dose", max_len=DOSE_MAX, min_len=0)
    low, high = WINDOW_MIN_RANGE
    window = form.integer("window_min", "Window", low=low, high=high, default=30)
    remind = form.checkbox("remind", "Reminder")
    completed_by = form.choice("completed_by", "Completed by", Completer, Completer.CLIENT)
    weekdays = frozenset(day for day in range(7) if form.checkbox(f"day{day}", "Weekday"))
    times: tuple[Any, ...] = ()
    try:
        times = parse_times(form.raw("times")[:100])
    except InvalidInput as exc:
        form.errors["times"] = str(exc)
    item = PlanItem(
        id=str(uuid.uuid4()),
        client_id=client.id,
        kind=kind,
        label=label,
        weekdays=weekdays,
        times=times,
        window_min=window,
        remind=remind,
        completed_by=completed_by,
        medication=medication,
        dose=dose,
        created_by=state.principal(request).subject_id,
        created_at=state.services(request).clock.now(),
    )
    if not form.errors:
        try:
            item.validate()
        except InvalidInput as exc:
            form.errors["item"] = str(exc)
    try:
        form.raise_if_invalid()
    except FormError as exc:
        values = {
            name: str(posted.get(name, ""))[:100]
            for name in ("kind", "label", "medication", "dose", "times", "window_min")
        }
        values["remind"] = "on" if remind else ""
        values["completed_by"] = completed_by.value
        values.update({f"day{day}": "on" for day in weekdays})
        return await _plan_page(request, client, status=400, errors=exc.errors, values=values)
    service = checkin_service(request)
    await service.store.add_plan_item(item)
    await log_access(request, client.id, AccessAction.CHANGE, DataKind.CARE_PLAN)
    await service.plan_changed(client.id)
    raise web.HTTPSeeOther(f"/clients/{client.id}/plan?notice=item_added")


async def care_plan_end(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    service = checkin_service(request)
    item = await service.store.plan_item(request.match_info["item_id"])
    if item is None or item.client_id != client.id:
        raise NotFound("There is no such check-in on this client's plan.")
    who = state.principal(request).subject_id
    await service.store.end_plan_item(item.id, state.services(request).clock.now(), who)
    await log_access(request, client.id, AccessAction.CHANGE, DataKind.CARE_PLAN)
    await service.plan_changed(client.id)
    raise web.HTTPSeeOther(f"/clients/{client.id}/plan?notice=item_ended")


async def care_profile_save(request: web.Request) -> web.StreamResponse:
    client = await state.client_in_path(request)
    form = FormReader(await request.post())
    team = form.text("team", "Team", max_len=TEAM_MAX, min_len=0)
    km: float | None = None
    raw_km = form.raw("km_per_visit").strip().replace(",", ".")
    if raw_km:
        try:
            km = float(raw_km)
            if not 0 <= km <= KM_MAX:
                raise ValueError
        except ValueError:
            form.errors["km_per_visit"] = f"Driving distance must be a number of km, 0-{KM_MAX:g}."
    if form.errors:
        return await _plan_page(request, client, status=400, errors=form.errors)
    await checkin_service(request).store.set_care_profile(CareProfile(client.id, team, km))
    await log_access(request, client.id, AccessAction.CHANGE, DataKind.PROFILE)
    raise web.HTTPSeeOther(f"/clients/{client.id}/plan?notice=profile_saved")
