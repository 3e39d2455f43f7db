"""Wire web/ into the application: templates, middlewares, static files and routes."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from web import (
    i18n,
    routes_admin,
    routes_auth,
    routes_care,
    routes_checkins,
    routes_family,
    routes_fleet,
    routes_metrics,
    routes_privacy,
    routes_recordings,
    routes_reports,
    routes_rooms,
    routes_tablet,
    state,
)
from web.authentication import authentication_middleware
from web.authorization import permission_middleware
from web.csrf import csrf_middleware
from web.deps import WebDeps
from web.errors import error_middleware
from web.rate_limit import RateLimiter
from web.security_headers import security_headers_middleware

WEB_DIR = Path(__file__).resolve().parent
# Path parameters are ids we generated (uuid4); anything else cannot exist, so the router
# answers 404 before a handler runs.
_ID = r"{%s:[A-Za-z0-9_.:-]{1,64}}"

PAIR_ATTEMPTS_PER_MINUTE = 10
FAILED_LOGINS_PER_MINUTE = 10
FAILED_LOGINS_PER_ACCOUNT = 5
ACCOUNT_LOCK_S = 15 * 60.0


def setup_web(app: web.Application, services: WebDeps) -> None:
    """Register web/'s templates, middlewares and routes on the Hoiva application."""
    app[state.SERVICES] = services
    app[state.PAIR_LIMITER] = RateLimiter(PAIR_ATTEMPTS_PER_MINUTE, 60.0)
    app[state.LOGIN_LIMITER] = RateLimiter(FAILED_LOGINS_PER_MINUTE, 60.0)
    app[state.ACCOUNT_LIMITER] = RateLimiter(FAILED_LOGINS_PER_ACCOUNT, ACCOUNT_LOCK_S)
    app[state.CATALOGUES] = i18n.Catalogues()
    tablet_dir = services.settings.tablet_dir
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader([WEB_DIR / "templates", tablet_dir / "templates"]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    i18n.install(environment)
    app.middlewares.extend(
        [
            security_headers_middleware(hsts=services.settings.secure_cookies),
            error_middleware,
            authentication_middleware,
            permission_middleware,
            csrf_middleware,
        ]
    )
    add_routes(app.router, tablet_dir)


def add_routes(router: web.UrlDispatcher, tablet_dir: Path) -> None:
    router.add_get("/", routes_auth.index, name="index")
    router.add_get("/healthz", routes_auth.healthz, name="healthz")
    router.add_get("/login", routes_auth.login_form, name="login")
    router.add_post("/login", routes_auth.login_submit, name="login")
    router.add_post("/logout", routes_auth.logout, name="logout")
    router.add_post("/account/language", routes_auth.choose_language, name="account.language")
    router.add_get(
        "/i18n/{language:[a-z]{2}}.json", routes_auth.script_catalogue, name="i18n.catalogue"
    )

    router.add_get("/dashboard", routes_care.dashboard, name="dashboard")
    router.add_get("/sessions", routes_care.sessions_page, name="sessions")
    router.add_get("/api/clients", routes_care.api_clients, name="api.clients")
    router.add_get("/api/sessions", routes_care.api_sessions, name="api.sessions")

    router.add_get("/admin", routes_admin.admin_page, name="admin")
    router.add_post("/admin/clients", routes_admin.client_create, name="admin.client_create")
    router.add_post(
        "/admin/clients/" + _ID % "client_id" + "/settings",
        routes_admin.client_settings,
        name="admin.client_settings",
    )
    router.add_post(
        "/admin/clients/" + _ID % "client_id" + "/pairing-code",
        routes_admin.pairing_code,
        name="admin.pairing_code",
    )
    router.add_post(
        "/admin/devices/" + _ID % "device_id" + "/revoke",
        routes_admin.device_revoke,
        name="admin.device_revoke",
    )

    router.add_get("/rooms", routes_rooms.rooms_page, name="rooms")
    router.add_post("/rooms", routes_rooms.room_create, name="rooms.create")
    router.add_post("/rooms/" + _ID % "room_id", routes_rooms.room_update, name="rooms.update")
    router.add_get(
        "/rooms/" + _ID % "room_id" + "/console", routes_rooms.console_page, name="rooms.console"
    )
    router.add_get(
        "/api/rooms/" + _ID % "room_id" + "/attendance",
        routes_rooms.api_attendance,
        name="api.room_attendance",
    )

    router.add_get("/tablet", routes_tablet.tablet_page, name="tablet")
    router.add_post("/api/tablet/pair", routes_tablet.tablet_pair, name="api.tablet_pair")
    router.add_get("/api/tablet/me", routes_tablet.tablet_me, name="api.tablet_me")
    routes_privacy.add_routes(router, _ID)
    routes_family.add_routes(router, _ID)
    routes_checkins.add_routes(router, _ID)
    routes_reports.add_routes(router)
    routes_metrics.add_routes(router)
    routes_recordings.add_routes(router, _ID)
    routes_fleet.add_routes(router, _ID)

    # The kiosk's own assets stay in tablet_client/; the longer prefix wins in aiohttp's
    # router, so /static/tablet/* never reaches web/static.
    router.add_static(
        "/static/tablet/", tablet_dir / "static", name="static.tablet", append_version=True
    )
    router.add_static("/static/", WEB_DIR / "static", name="static", append_version=True)
