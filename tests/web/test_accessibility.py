"""Every page in fi, sv and en: axe-core finds no serious or critical violation, and nothing
overflows the viewport sideways or is cut off.

Staff pages are measured at 1280x800 and 1440x900; the kiosk's screens (idle, with a status
box, privacy, reminder, ringing, in a call, the meal invitation and the meal room) at 1024x600
and 1280x800 in every text size; the family call page on a phone and a laptop; the host console
idle and with homes at the table; the dashboard during a call. One browser and one server serve
the whole walk, so it stays within a couple of minutes on two cores.

With HOIVA_SCREENSHOT_DIR set, the Finnish walk also refreshes the README's screenshots.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from time import monotonic as time_now
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from care_sessions.auth import staff_principal
from care_sessions.care_plans import ALL_WEEKDAYS, CheckinKind, Completer, PlanItem
from care_sessions.consent import ConsentPurpose
from care_sessions.identity import Client, ClientSettings, Language, Role, TextSize
from care_sessions.meal_rooms import MealRoom, RoomKind, RoomSchedule
from hoiva.demo_care import seed_demo_care
from tablet_client.headless import HeadlessTablet
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer
from tests.integration.meal_harness import rooms_of, synthetic
from tests.web.browser import screenshot

# The walk visits some 80 page states with three languages' worth of calls and meals.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

HELSINKI = ZoneInfo("Europe/Helsinki")
STAFF_VIEWPORTS = (ViewportSize(width=1280, height=800), ViewportSize(width=1440, height=900))
KIOSK_VIEWPORTS = (ViewportSize(width=1024, height=600), ViewportSize(width=1280, height=800))
PHONE = ViewportSize(width=390, height=844)
FAMILY_VIEWPORTS = (PHONE, ViewportSize(width=1280, height=800))
TEXT_SIZES = tuple(size.value for size in TextSize)
ACCEPT = {"fi": "fi-FI,fi;q=0.9", "sv": "sv-FI,sv;q=0.9", "en": "en-GB,en;q=0.9"}
SIGN_IN = {"fi": "Kirjaudu sisään", "sv": "Logga in", "en": "Sign in"}
HOST_PASSWORD = "host-password-for-tests"

# Visible elements that pass the viewport's right edge or start above the page, boxes that
# scroll sideways, and, where the page cannot scroll, elements below its bottom.
_FIT = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  const height = window.innerHeight;
  const scrolls = (el, axis) => ["auto", "scroll", "hidden", "clip"].includes(
    getComputedStyle(el)[axis]);
  const pageScrolls = !["hidden", "clip"].includes(getComputedStyle(root).overflowY)
    && !["hidden", "clip"].includes(getComputedStyle(document.body).overflowY);
  const name = (el) => `${el.tagName.toLowerCase()}#${el.id}.${String(el.className).trim()}`;
  const wide = [];
  const cut = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.position === "fixed" && box.bottom <= 0) continue;
    let clippedX = false;
    let clippedY = false;
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      clippedX ||= scrolls(p, "overflowX");
      clippedY ||= scrolls(p, "overflowY");
    }
    if (!clippedX && box.right > width + 1) {
      wide.push(`${name(el)} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
    // Nor may anything spill out of its panel or card (a field running past the card's edge).
    const frame = el.parentElement?.closest(".panel, .card");
    if (frame && !clippedX) {
      const edge = frame.getBoundingClientRect();
      if (box.right > edge.right + 1 || box.left < edge.left - 1) {
        wide.push(`${name(el)} spills ${Math.round(box.right - edge.right)} px out of its box`);
      }
    }
    // A table in a scroll box must fit too: scrolling sideways hides its columns.
    if (["auto", "scroll"].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1) {
      wide.push(`${name(el)} scrolls ${el.clientWidth} of ${el.scrollWidth}`);
    }
    const top = box.top + window.scrollY;
    if (!clippedY && (top < -1 || (!pageScrolls && box.bottom > height + 1))) {
      cut.push(`${name(el)} ${Math.round(top)}..${Math.round(box.bottom + window.scrollY)}`);
    }
  }
  return {
    scroll: root.scrollWidth - width,
    wide: wide.slice(0, 4),
    cut: cut.slice(0, 4),
  };
}"""


@dataclass
class Audit:
    """Runs axe and the fit measurement, collecting every problem and what was measured."""

    axe: Axe
    problems: list[str] = field(default_factory=list)
    axe_runs: int = 0
    fit_runs: int = 0

    async def check(
        self,
        page: Page,
        label: str,
        viewports: tuple[ViewportSize, ...],
        text_sizes: tuple[str, ...] = (),
    ) -> None:
        """axe once (at the first viewport), then the fit at every viewport and text size."""
        original = page.viewport_size
        await page.set_viewport_size(viewports[0])
        results: Any = await self.axe.run(page)
        self.axe_runs += 1
        for violation in results.response["violations"]:
            if violation["impact"] in ("serious", "critical"):
                targets = [node["target"] for node in violation["nodes"][:3]]
                self.problems.append(
                    f"{label}: axe {violation['id']} ({violation['impact']}) {targets}"
                )
        if not await page.evaluate("() => document.documentElement.lang"):
            self.problems.append(f"{label}: no lang")
        size_before = await page.evaluate("() => document.documentElement.dataset.textSize ?? ''")
        for viewport in viewports:
            await page.set_viewport_size(viewport)
            for size in text_sizes or (None,):
                if size is not None:
                    await page.evaluate(
                        "(size) => { document.documentElement.dataset.textSize = size; }", size
                    )
                await page.evaluate("() => new Promise(requestAnimationFrame)")
                fit = await page.evaluate(_FIT)
                self.fit_runs += 1
                if fit["scroll"] > 0 or fit["wide"] or fit["cut"]:
                    where = f"{viewport['width']}x{viewport['height']}"
                    self.problems.append(f"{label} {where} {size or ''}: does not fit {fit}")
        if text_sizes:
            await page.evaluate(
                "(size) => { document.documentElement.dataset.textSize = size; }", size_before
            )
        if original is not None:
            await page.set_viewport_size(original)


@dataclass
class World:
    """The demo-like server: care plans and history, a kiosk client, a family link, a host."""

    server: RunningServer
    kiosk_client: Client
    diners: list[Client]
    family_link: str
    host_id: str


async def _world(server: RunningServer) -> World:
    services = server.services
    await server.add_staff("nina", Role.NURSE, NURSE_PASSWORD)
    host = await server.add_staff("hanna", Role.HOST, HOST_PASSWORD)
    for name in ("Aino", "Eino", "Helmi"):
        await server.add_client(name)
    # Toivo has no demo plan, so no reminder of the seeded plans pops up on his kiosk.
    toivo = await server.add_client("Toivo")
    diners = [await server.add_client(f"Diner{index}") for index in range(2)]
    await seed_demo_care(services)
    assert server.admin is not None
    admin = staff_principal(server.admin)
    await services.consents.decide(toivo.id, ConsentPurpose.FAMILY_CALLS, True, admin)
    invitation = await services.family.invite(toivo, "Anna", "daughter", admin)
    return World(
        server=server,
        kiosk_client=toivo,
        diners=diners,
        family_link=f"{server.url}/family#{invitation.token}",
        host_id=host.id,
    )


async def _signed_in(browser: Browser, world: World, lang: str, user: str, password: str) -> Page:
    context = await browser.new_context(
        viewport=STAFF_VIEWPORTS[0],
        locale=ACCEPT[lang].split(",")[0],
        extra_http_headers={"Accept-Language": ACCEPT[lang]},
    )
    page = await context.new_page()
    await page.goto(f"{world.server.url}/login")
    await page.locator("#username").fill(user)
    await page.locator("#password").fill(password)
    await page.get_by_role("button", name=SIGN_IN[lang]).click()
    await page.wait_for_load_state()
    return page


async def _staff_pages(browser: Browser, world: World, lang: str, audit: Audit) -> None:
    server = world.server
    client = world.kiosk_client
    context = await browser.new_context(
        viewport=STAFF_VIEWPORTS[0],
        locale=ACCEPT[lang].split(",")[0],
        extra_http_headers={"Accept-Language": ACCEPT[lang]},
    )
    page = await context.new_page()
    await page.goto(f"{server.url}/login")
    await audit.check(page, f"{lang} /login", STAFF_VIEWPORTS)
    if lang == "fi":
        await screenshot(page, "login")
    await page.locator("#username").fill("admin")
    await page.locator("#password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name=SIGN_IN[lang]).click()
    await page.wait_for_load_state()
    for path in (
        "/dashboard",
        "/sessions",
        "/reports",
        "/reports/print",
        "/rooms",
        "/admin",
        "/admin/fleet",
        "/access-log",
        f"/clients/{client.id}/plan",
        f"/admin/clients/{client.id}/privacy",
        f"/admin/clients/{client.id}/family",
    ):
        await page.goto(f"{server.url}{path}")
        await page.wait_for_load_state("networkidle")
        await audit.check(page, f"{lang} {path}", STAFF_VIEWPORTS)
        if lang == "fi" and path in ("/sessions", "/reports", "/admin/fleet", "/admin"):
            await page.set_viewport_size(STAFF_VIEWPORTS[1])
            name = {"/admin/fleet": "fleet"}.get(path, path.strip("/"))
            await screenshot(page, name)
            await page.set_viewport_size(STAFF_VIEWPORTS[0])
    await context.close()

    family = await browser.new_context(
        viewport=PHONE,
        locale=ACCEPT[lang].split(",")[0],
        extra_http_headers={"Accept-Language": ACCEPT[lang]},
    )
    relative = await family.new_page()
    await relative.goto(world.family_link)
    await relative.wait_for_load_state("networkidle")
    await audit.check(relative, f"{lang} family call page", FAMILY_VIEWPORTS)
    await family.close()


async def _kiosk(browser: Browser, world: World, lang: str) -> Page:
    server = world.server
    client = world.kiosk_client
    settings = dataclasses.replace(
        client.settings, language=Language(lang), text_size=TextSize.LARGEST
    )
    assert isinstance(settings, ClientSettings)
    await server.services.store.update_client_settings(client.id, settings)
    context = await browser.new_context(viewport=KIOSK_VIEWPORTS[0])
    token = await server.enrol_tablet(client)
    await context.add_init_script(f"localStorage.setItem('hoiva.tablet.token', '{token}')")
    kiosk = await context.new_page()
    await kiosk.goto(f"{server.url}/tablet")
    await _screen(kiosk, "idle")
    await kiosk.wait_for_function(
        "(lang) => document.documentElement.lang === lang", arg=lang, timeout=10_000
    )
    return kiosk


async def _screen(kiosk: Page, name: str, timeout_ms: int = 15_000) -> None:
    await kiosk.wait_for_function(
        "(name) => document.body.dataset.screen === name", arg=name, timeout=timeout_ms
    )


async def _kiosk_shot(kiosk: Page, lang: str, name: str) -> None:
    """The README's kiosk pictures: 1280x800 at the default text size, in Finnish."""
    if lang != "fi":
        return
    await kiosk.set_viewport_size(KIOSK_VIEWPORTS[1])
    before = await kiosk.evaluate("() => document.documentElement.dataset.textSize")
    await kiosk.evaluate("() => { document.documentElement.dataset.textSize = 'large'; }")
    await screenshot(kiosk, name)
    await kiosk.evaluate("(size) => { document.documentElement.dataset.textSize = size; }", before)
    await kiosk.set_viewport_size(KIOSK_VIEWPORTS[0])


async def _remind_now(world: World, label: str) -> None:
    """A medicine whose window is open now, so the kiosk shows its reminder at once."""
    service = world.server.services.signaling.checkins
    assert service is not None
    now = datetime.now(HELSINKI)
    await service.store.add_plan_item(
        PlanItem(
            id=str(uuid.uuid4()),
            client_id=world.kiosk_client.id,
            kind=CheckinKind.MEDICATION,
            label=label,
            weekdays=ALL_WEEKDAYS,
            times=(time(now.hour, now.minute),),
            window_min=30,
            remind=True,
            completed_by=Completer.CLIENT,
            medication="Metformin",
            dose="500 mg",
            created_by="test",
        )
    )
    await service.plan_changed(world.kiosk_client.id)


async def _room(world: World, lang: str) -> MealRoom:
    now = datetime.now(HELSINKI)
    start = max(now - timedelta(minutes=10), now.replace(hour=0, minute=0))
    end = min(now + timedelta(minutes=60), now.replace(hour=23, minute=59))
    room = MealRoom(
        id=str(uuid.uuid4()),
        name={"fi": "Lounas Kallion ryhmän kanssa", "sv": "Lunch med Vallagruppen"}.get(
            lang, "Lunch with the Kallio group"
        ),
        kind=RoomKind.MEAL,
        host_id=world.host_id,
        member_ids=(world.kiosk_client.id, *(c.id for c in world.diners)),
        schedule=RoomSchedule(
            weekdays=frozenset(range(7)),
            start=time(start.hour, start.minute),
            end=time(end.hour, end.minute),
        ),
    )
    await rooms_of(world.server).save_room(room, new=True)
    return room


async def _kiosk_and_calls(browser: Browser, world: World, lang: str, audit: Audit) -> None:
    """The kiosk's screens, the dashboard during a call, and a meal with its host console."""
    server = world.server
    kiosk = await _kiosk(browser, world, lang)
    nurse = await _signed_in(browser, world, lang, "nurse1", NURSE_PASSWORD)
    host = await _signed_in(browser, world, lang, "hanna", HOST_PASSWORD)
    diners = [
        HeadlessTablet(
            server.url,
            await server.enrol_tablet(client),
            video_factory=synthetic(index + 1),
            join_rooms=True,
        )
        for index, client in enumerate(world.diners)
    ]
    contexts: list[BrowserContext] = [kiosk.context, nurse.context, host.context]
    try:
        await audit.check(kiosk, f"{lang} kiosk idle", KIOSK_VIEWPORTS, TEXT_SIZES)
        await _kiosk_shot(kiosk, lang, "kiosk-idle")

        await kiosk.locator("#privacy-button").click()
        await _screen(kiosk, "privacy")
        await audit.check(kiosk, f"{lang} kiosk privacy", KIOSK_VIEWPORTS, TEXT_SIZES)
        await _kiosk_shot(kiosk, lang, "kiosk-privacy")
        await kiosk.locator("#privacy-back").click()
        await _screen(kiosk, "idle")

        await _remind_now(world, f"medicine ({lang})")
        await _screen(kiosk, "reminder")
        await audit.check(kiosk, f"{lang} kiosk reminder", KIOSK_VIEWPORTS, TEXT_SIZES)
        await _kiosk_shot(kiosk, lang, "kiosk-reminder")
        await kiosk.locator("#reminder-confirm").click()
        await _screen(kiosk, "idle")
        await expect(kiosk.locator("#idle-notice")).to_be_visible()
        await audit.check(kiosk, f"{lang} kiosk idle, thanked", KIOSK_VIEWPORTS, TEXT_SIZES)

        await kiosk.locator("#help-button").click()
        await expect(kiosk.locator("#help-status")).to_be_visible()
        await audit.check(kiosk, f"{lang} kiosk idle, help asked", KIOSK_VIEWPORTS, TEXT_SIZES)
        await nurse.goto(f"{server.url}/dashboard")
        await expect(nurse.locator("#help-list li")).to_have_count(1, timeout=10_000)
        await kiosk.locator("#help-cancel").click()
        await expect(nurse.locator("#help-list li")).to_have_count(0, timeout=10_000)

        call = nurse.locator(
            f'#roster-list li[data-client-id="{world.kiosk_client.id}"] button.btn-primary'
        )
        await expect(call).to_be_enabled(timeout=10_000)
        # By keyboard: Enter on Call, then the focus waits on End call.
        await call.focus()
        await nurse.keyboard.press("Enter")
        await _screen(kiosk, "ringing")
        await audit.check(kiosk, f"{lang} kiosk ringing", KIOSK_VIEWPORTS, TEXT_SIZES)
        await _kiosk_shot(kiosk, lang, "kiosk-ringing")
        await kiosk.locator("#answer-button").click()
        await _screen(kiosk, "call")
        await nurse.wait_for_function(
            "() => window.hoivaDashboard.callState === 'connected'", timeout=15_000
        )
        await audit.check(kiosk, f"{lang} kiosk in a call", KIOSK_VIEWPORTS, TEXT_SIZES)
        await _kiosk_shot(kiosk, lang, "kiosk-call")
        await expect(nurse.locator("#end-button")).to_be_focused()
        await audit.check(nurse, f"{lang} dashboard in a call", STAFF_VIEWPORTS)
        if lang == "fi":
            await nurse.set_viewport_size(STAFF_VIEWPORTS[1])
            await screenshot(nurse, "dashboard-call")
        await nurse.keyboard.press("Enter")
        await _screen(kiosk, "idle")
        await audit.check(kiosk, f"{lang} kiosk idle after a call", KIOSK_VIEWPORTS, TEXT_SIZES)
        await nurse.wait_for_function(
            "() => window.hoivaDashboard.callState === 'ended'", timeout=10_000
        )
        # The focus goes back to the roster (the client's Call button once it is enabled).
        assert await nurse.evaluate(
            "() => Boolean(document.activeElement?.closest('#roster-list'))"
            " || document.activeElement?.id === 'roster-filter'"
        )
        await audit.check(nurse, f"{lang} dashboard after a call", STAFF_VIEWPORTS)
        if lang == "fi":
            await nurse.set_viewport_size(STAFF_VIEWPORTS[1])
            await screenshot(nurse, "dashboard-checkins")

        room = await _room(world, lang)
        await host.goto(f"{server.url}/rooms/{room.id}/console")
        await host.wait_for_function(
            "() => document.getElementById('console').dataset.state === 'live'", timeout=15_000
        )
        await audit.check(host, f"{lang} host console, nobody yet", STAFF_VIEWPORTS)
        await _screen(kiosk, "meal-invite")
        await audit.check(kiosk, f"{lang} kiosk meal invitation", KIOSK_VIEWPORTS, TEXT_SIZES)
        for diner in diners:
            await diner.start()
        await kiosk.locator("#meal-join").click()
        await _screen(kiosk, "meal", timeout_ms=30_000)
        await expect(host.locator("#tiles .tile")).to_have_count(4, timeout=20_000)
        await audit.check(host, f"{lang} host console, four at the table", STAFF_VIEWPORTS)
        await audit.check(kiosk, f"{lang} kiosk meal room", KIOSK_VIEWPORTS, TEXT_SIZES)
        if lang == "fi":
            await host.set_viewport_size(STAFF_VIEWPORTS[1])
            await screenshot(host, "host-console")
            await _kiosk_shot(kiosk, lang, "kiosk-meal")
        host.once("dialog", lambda dialog: dialog.accept())
        await host.locator("#end-button").click()
        await _screen(kiosk, "idle")
    finally:
        for diner in diners:
            await diner.stop()
        for context in contexts:
            await context.close()


async def test_every_page_is_accessible_and_fits_in_each_language(
    server: RunningServer, browser: Browser
) -> None:
    """Staff, family, kiosk and host pages, idle and in calls, in fi, sv and en."""
    world = await _world(server)
    audit = Audit(Axe())
    started = time_now()
    for lang in ("fi", "sv", "en"):
        await _staff_pages(browser, world, lang, audit)
        print(f"\n{lang}: staff and family pages at {time_now() - started:.0f} s")
        await _kiosk_and_calls(browser, world, lang, audit)
        print(f"{lang}: kiosk, calls and meal at {time_now() - started:.0f} s")
    print(f"\naccessibility: {audit.axe_runs} axe runs, {audit.fit_runs} fit measurements")
    assert audit.problems == [], "\n".join(audit.problems)
