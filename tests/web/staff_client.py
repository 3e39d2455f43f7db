"""An HTTP client that behaves like a staff member's browser: cookies, forms, CSRF tokens."""

from __future__ import annotations

import re
from types import TracebackType
from typing import Any

import aiohttp

CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]+)"')


class StaffBrowser:
    """Signs in through the login form and posts forms with the page's CSRF token."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # unsafe=True: keep cookies for an IP-address host such as 127.0.0.1.
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def __aenter__(self) -> StaffBrowser:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        kwargs.setdefault("allow_redirects", False)
        response = await self.http.get(self.url(path), **kwargs)
        await response.read()
        return response

    async def page_csrf(self, path: str) -> str:
        response = await self.get(path)
        match = CSRF_FIELD.search(await response.text())
        assert match is not None, f"no CSRF field on {path} ({response.status})"
        return match.group(1)

    async def login(
        self, username: str, password: str, next_path: str = ""
    ) -> aiohttp.ClientResponse:
        token = await self.page_csrf("/login")
        response = await self.post_form(
            "/login",
            {"username": username, "password": password, "next": next_path, "csrf_token": token},
        )
        if response.status == 303:
            # Every staff page's sign-out form carries the session's token.
            self.csrf = await self.page_csrf("/sessions")
        return response

    async def post_form(
        self, path: str, data: dict[str, str], *, csrf: str | None = None
    ) -> aiohttp.ClientResponse:
        form = dict(data)
        if csrf is not None:
            form["csrf_token"] = csrf
        elif "csrf_token" not in form and self.csrf:
            form["csrf_token"] = self.csrf
        response = await self.http.post(self.url(path), data=form, allow_redirects=False)
        await response.read()
        return response
