"""Signing staff in and out, the front door, and the health probe."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from aiohttp import web

from care_sessions.errors import AuthenticationFailed, InvalidInput
from care_sessions.identity import Language, Role
from web import i18n, state
from web.cookies import (
    LOGIN_CSRF_COOKIE,
    clear_session_cookie,
    set_login_csrf_cookie,
    set_session_cookie,
)
from web.forms import FormReader
from web.responses import render

_MAX_NEXT_LENGTH = 1000
_LOGIN_TEMPLATE = "login.html"


def home_for(role: Role) -> str:
    if role is Role.ADMIN:
        return "/admin"
    if role is Role.TABLET:
        return "/tablet"
    if role is Role.HOST:
        return "/rooms"  # hosts run meal and exercise rooms; the nurses' dashboard is not theirs
    return "/dashboard"


def safe_next(value: str) -> str | None:
    """A local path to return to after login; anything that could leave the site is None."""
    if not value or len(value) > _MAX_NEXT_LENGTH or not value.startswith("/"):
        return None
    # "//host" and "/\host" are read by browsers as another site.
    if value.startswith("//") or "\\" in value or any(ord(ch) < 0x20 for ch in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


async def index(request: web.Request) -> web.StreamResponse:
    who = state.principal(request)
    if who.is_staff:
        raise web.HTTPFound(home_for(who.role))
    raise web.HTTPFound("/login")


async def healthz(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


def _login_page(
    request: web.Request, *, next_path: str, username: str = "", error: str = "", status: int = 200
) -> web.Response:
    existing = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    token = existing if 20 <= len(existing) <= 100 else secrets.token_urlsafe(24)
    response = render(
        request,
        _LOGIN_TEMPLATE,
        {"login_csrf": token, "next": next_path, "username": username, "error": error},
        status=status,
    )
    set_login_csrf_cookie(response, token, secure=state.services(request).settings.secure_cookies)
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    who = state.principal(request)
    next_path = safe_next(request.query.get("next", "")) or ""
    if who.is_staff:
        raise web.HTTPFound(next_path or home_for(who.role))
    return _login_page(request, next_path=next_path)


async def login_submit(request: web.Request) -> web.StreamResponse:
    services = state.services(request)
    form = FormReader(await request.post())
    username = form.text("username", "Username", max_len=150)
    password = form.raw("password")
    next_path = safe_next(form.raw("next")) or ""
    if form.errors or not password or len(password) > 1024:
        return _login_page(
            request,
            next_path=next_path,
            username=username[:150],
            error="Enter your username and password.",
            status=400,
        )
    limiter = request.app[state.LOGIN_LIMITER]
    account_lock = request.app[state.ACCOUNT_LIMITER]
    address = request.remote or "unknown"
    account = username.casefold()
    if account_lock.blocked(account):
        # Per account as well as per address: guessing one nurse's password from many
        # addresses is stopped too. The lock expires by itself.
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error="This account is locked for a while after repeated failed sign-ins. "
            "Try again in 15 minutes or ask an administrator.",
            status=429,
        )
    if limiter.blocked(address):
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error="Too many failed sign-ins. Wait a minute and try again.",
            status=429,
        )
    try:
        session = await services.auth.login(username, password)
    except AuthenticationFailed:
        # Only failures count, so a whole ward signing in at shift change is never slowed.
        limiter.record(address)
        account_lock.record(account)
        return _login_page(
            request,
            next_path=next_path,
            username=username,
            error="Wrong username or password",
            status=401,
        )
    previous = state.session_token(request)
    if previous is not None:
        # Signing in again (or as someone else) must not leave the old session usable.
        await services.auth.logout(previous)
    response = web.HTTPSeeOther(next_path or home_for(session.user.role))
    set_session_cookie(response, session.token, secure=services.settings.secure_cookies)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    services = state.services(request)
    token = state.session_token(request)
    if token is not None:
        await services.auth.logout(token)
    response = web.HTTPSeeOther("/login")
    clear_session_cookie(response, secure=services.settings.secure_cookies)
    raise response


async def choose_language(request: web.Request) -> web.StreamResponse:
    """Store the staff pages' language a person chose ("" follows the browser again)."""
    form = await request.post()
    raw = form.get("language", "")
    language = i18n.coerce_language(raw)
    if raw and language is None:
        raise InvalidInput("Choose fi, sv or en.")
    who = state.principal(request)
    await state.services(request).store.set_staff_language(
        who.subject_id, Language(language) if language else None
    )
    back = safe_next(str(form.get("next", ""))) or home_for(who.role)
    raise web.HTTPSeeOther(back)


async def script_catalogue(request: web.Request) -> web.StreamResponse:
    """One language's messages as JSON, for the kiosk's and the staff pages' scripts."""
    code = i18n.coerce_language(request.match_info["language"])
    if code is None:
        raise web.HTTPNotFound()
    language = request.app[state.CATALOGUES][code]
    return web.Response(
        body=language.script_json,
        content_type="application/json",
        charset="utf-8",
        # The catalogue changes only with a deploy; a short cache spares the kiosks a fetch.
        headers={"Cache-Control": "public, max-age=300"},
    )
