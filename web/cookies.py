"""The two cookies Hoiva sets, and the one place their attributes are decided."""

from __future__ import annotations

from aiohttp import web

SESSION_COOKIE = "hoiva_session"
# Double-submit token for the login form, which has no session (and so no session CSRF
# token) yet; it stops a third-party page from signing a nurse into another account.
LOGIN_CSRF_COOKIE = "hoiva_csrf"
LOGIN_CSRF_PATH = "/login"


def set_session_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    # No max_age: the browser forgets the cookie when it closes, the server expires the
    # session on its own clock anyway.
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="Lax", secure=secure, path="/"
    )


def clear_session_cookie(response: web.StreamResponse, *, secure: bool) -> None:
    response.del_cookie(SESSION_COOKIE, path="/", secure=secure, httponly=True, samesite="Lax")


def set_login_csrf_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=secure,
        path=LOGIN_CSRF_PATH,
        max_age=3600,
    )
