"""Signing in and out, redirects for the anonymous, roles, CSRF and security headers."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from yarl import URL

from care_sessions.permissions import ROUTE_RULES
from tests.conftest import ADMIN_PASSWORD, NURSE_PASSWORD, RunningServer, make_config, start_server
from tests.web.staff_client import StaffBrowser
from web.security_headers import CONTENT_SECURITY_POLICY


async def test_every_web_route_has_a_permission_rule(server: RunningServer) -> None:
    """Deny by default only works if no route was forgotten in ROUTE_RULES."""
    names = {
        f"{route.method} {route.name}"
        for route in server.runner.app.router.routes()
        if route.method != "HEAD"
    }
    assert None not in {route.name for route in server.runner.app.router.routes()}
    assert names <= set(ROUTE_RULES), names - set(ROUTE_RULES)


async def test_healthz_and_index(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as browser:
        health = await browser.get("/healthz")
        assert health.status == 200
        assert await health.json() == {"status": "ok"}
        index = await browser.get("/")
        assert (index.status, index.headers["Location"]) == (302, "/login")


async def test_anonymous_pages_redirect_to_login_and_apis_answer_401(
    server: RunningServer,
) -> None:
    async with StaffBrowser(server.url) as browser:
        page = await browser.get("/dashboard?tab=1")
        assert page.status == 302
        location = URL(page.headers["Location"])
        assert (location.path, location.query["next"]) == ("/login", "/dashboard?tab=1")
        api = await browser.get("/api/clients")
        assert api.status == 401
        assert (await api.json())["error"] == "not_authenticated"
        post = await browser.post_form("/admin/clients", {"first_name": "X"})
        assert post.status == 401


async def test_login_sets_a_safe_cookie_and_redirects_by_role(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as admin:
        response = await admin.login("admin", ADMIN_PASSWORD)
        assert (response.status, response.headers["Location"]) == (303, "/admin")
        cookie = response.cookies["hoiva_session"]
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Lax"
        assert cookie["path"] == "/"
        assert not cookie["secure"]
        assert (await admin.get("/admin")).status == 200
        index = await admin.get("/")
        assert index.headers["Location"] == "/admin"
    async with StaffBrowser(server.url) as nurse:
        response = await nurse.login("nurse1", NURSE_PASSWORD)
        assert response.headers["Location"] == "/dashboard"
        assert (await nurse.get("/dashboard")).status == 200


async def test_login_returns_to_local_next_only(server: RunningServer) -> None:
    """An open redirect after login would make Hoiva's login page a phishing tool."""
    for next_path, expected in (
        ("/sessions?x=1", "/sessions?x=1"),
        ("//evil.example/", "/dashboard"),
        ("/\\evil.example/", "/dashboard"),
        ("https://evil.example/", "/dashboard"),
    ):
        async with StaffBrowser(server.url) as nurse:
            response = await nurse.login("nurse1", NURSE_PASSWORD, next_path=next_path)
            assert response.headers["Location"] == expected, next_path


async def test_wrong_password_shows_the_form_again(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as browser:
        response = await browser.login("nurse1", "wrong")
        assert response.status == 401
        assert "Wrong username or password" in await response.text()
        assert 'value="nurse1"' in await response.text()
        assert "hoiva_session" not in {c.key for c in browser.http.cookie_jar}


async def test_failed_logins_are_rate_limited(server: RunningServer) -> None:
    """Per address: ten failures (on different accounts) block the address for a minute."""
    async with StaffBrowser(server.url) as browser:
        for attempt in range(10):
            assert (await browser.login(f"guess{attempt}", "wrong")).status == 401
        blocked = await browser.login("nurse1", NURSE_PASSWORD)
        assert blocked.status == 429
        assert "Too many failed sign-ins" in await blocked.text()


async def test_repeated_failures_lock_the_account(server: RunningServer) -> None:
    """Per account: five failures lock it, even with the right password, from anywhere."""
    async with StaffBrowser(server.url) as browser:
        for _ in range(5):
            assert (await browser.login("nurse1", "wrong")).status == 401
        locked = await browser.login("NURSE1", NURSE_PASSWORD)
        assert locked.status == 429
        assert "account is locked" in await locked.text()
        other = await browser.login("nurse2", NURSE_PASSWORD)
        assert other.status == 303, "other accounts are not locked"


async def test_login_form_needs_its_double_submit_token(server: RunningServer) -> None:
    """Login CSRF: a third-party page must not sign a nurse into someone else's account."""
    async with StaffBrowser(server.url) as browser:
        await browser.get("/login")  # sets the hoiva_csrf cookie
        form = {"username": "nurse1", "password": NURSE_PASSWORD}
        missing = await browser.post_form("/login", form)
        assert missing.status == 403
        forged = await browser.post_form("/login", form, csrf="x" * 32)
        assert forged.status == 403
    async with aiohttp.ClientSession() as fresh:  # no cookie at all, token from elsewhere
        token = "y" * 32
        response = await fresh.post(
            f"{server.url}/login",
            data={**form, "csrf_token": token},
            allow_redirects=False,
        )
        assert response.status == 403


async def test_staff_posts_need_the_session_csrf_token(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as admin:
        await admin.login("admin", ADMIN_PASSWORD)
        form = {
            "first_name": "Aino",
            "last_name": "K",
            "language": "fi",
            "auto_answer_after_s": "5",
        }
        assert (await admin.post_form("/admin/clients", form, csrf="")).status == 403
        assert (await admin.post_form("/admin/clients", form, csrf="nope")).status == 403
        assert await server.services.store.list_clients() == []
        by_header = await admin.http.post(
            admin.url("/admin/clients"),
            data=form,
            headers={"X-CSRF-Token": admin.csrf},
            allow_redirects=False,
        )
        assert by_header.status == 303
        assert len(await server.services.store.list_clients()) == 1


async def test_roles_are_enforced(server: RunningServer) -> None:
    client = await server.add_client("Aino")
    token = await server.enrol_tablet(client)
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        assert (await nurse.get("/admin")).status == 403
        created = await nurse.post_form(
            "/admin/clients", {"first_name": "X", "last_name": "Y", "language": "fi"}
        )
        assert created.status == 403
        assert (await nurse.get("/api/tablet/me")).status == 403
    async with aiohttp.ClientSession() as tablet:
        bearer = {"Authorization": f"Bearer {token}"}
        page = await tablet.get(f"{server.url}/dashboard", headers=bearer, allow_redirects=False)
        assert page.status == 403
        api = await tablet.get(f"{server.url}/api/clients", headers=bearer)
        assert (api.status, (await api.json())["error"]) == (403, "forbidden")
        bad = await tablet.get(
            f"{server.url}/api/tablet/me", headers={"Authorization": "Bearer not-a-token"}
        )
        assert bad.status == 401
        assert (await bad.json())["error"] == "not_authenticated"


async def test_signing_in_again_ends_the_previous_session(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as browser:
        await browser.login("nurse1", NURSE_PASSWORD)
        first = next(c.value for c in browser.http.cookie_jar if c.key == "hoiva_session")
        signed_in = await browser.get("/login")
        assert (signed_in.status, signed_in.headers["Location"]) == (302, "/dashboard")
        login_csrf = next(c.value for c in browser.http.cookie_jar if c.key == "hoiva_csrf")
        response = await browser.post_form(
            "/login", {"username": "admin", "password": ADMIN_PASSWORD}, csrf=login_csrf
        )
        assert response.status == 303
        assert await server.services.auth.staff_session(first) is None


async def test_logout_ends_the_session(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as nurse:
        await nurse.login("nurse1", NURSE_PASSWORD)
        old_cookie = next(c.value for c in nurse.http.cookie_jar if c.key == "hoiva_session")
        response = await nurse.post_form("/logout", {})
        assert (response.status, response.headers["Location"]) == (303, "/login")
        assert (await nurse.get("/dashboard")).status == 302
        # The old cookie value is dead on the server, not only forgotten by the browser.
        assert await server.services.auth.staff_session(old_cookie) is None


async def test_security_headers_on_pages_errors_and_redirects(server: RunningServer) -> None:
    async with StaffBrowser(server.url) as browser:
        for path, status in (("/login", 200), ("/nope", 404), ("/dashboard", 302)):
            response = await browser.get(path)
            assert response.status == status
            assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert "Strict-Transport-Security" not in response.headers
        assert (await browser.get("/login")).headers["Cache-Control"] == "no-store"
        static = await browser.get("/static/css/app.css")
        assert static.status == 200
        assert static.headers["X-Content-Type-Options"] == "nosniff"
        assert static.headers.get("Cache-Control") != "no-store"
    expected = (
        "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
        "connect-src 'self'; frame-ancestors 'none'"
    )
    assert CONTENT_SECURITY_POLICY.startswith(expected)


async def test_behind_tls_cookies_are_secure_and_hsts_is_sent(tmp_path: Path) -> None:
    secure = await start_server(make_config(tmp_path, **{"server.behind_tls_proxy": True}))
    try:
        async with StaffBrowser(secure.url) as browser:
            page = await browser.get("/login")
            assert page.headers["Strict-Transport-Security"].startswith("max-age=")
            assert page.cookies["hoiva_csrf"]["secure"] is True
            token = page.cookies["hoiva_csrf"].value
            response = await browser.http.post(
                browser.url("/login"),
                data={"username": "nurse1", "password": NURSE_PASSWORD, "csrf_token": token},
                cookies={"hoiva_csrf": token},
                allow_redirects=False,
            )
            assert response.status == 303
            assert response.cookies["hoiva_session"]["secure"] is True
    finally:
        await secure.runner.cleanup()


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_static_files_and_the_kiosk_assets(server: RunningServer, method: str) -> None:
    async with aiohttp.ClientSession() as http:
        for path in ("/static/js/hoiva-signal.js", "/static/tablet/kiosk.js"):
            response = await http.request(method, f"{server.url}{path}")
            assert response.status == 200, path
            assert "javascript" in response.headers["Content-Type"]
        escape = await http.get(f"{server.url}/static/tablet/../../web/setup.py")
        assert escape.status in (403, 404)
