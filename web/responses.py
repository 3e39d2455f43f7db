"""Rendering pages and error answers: JSON for /api/*, a page for everything else."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from care_sessions.identity import Role
from web import state

API_PREFIX = "/api/"


def is_api(request: web.Request) -> bool:
    return request.path.startswith(API_PREFIX)


def render(
    request: web.Request, template: str, context: Mapping[str, Any], *, status: int = 200
) -> web.Response:
    """Render a page with what every layout needs: who is signed in and the CSRF token."""
    who = state.principal(request)
    language = state.language(request)
    base: dict[str, Any] = {
        "i18n": language,
        "lang": language.code,
        "fmt": language.format,
        "staff_language": request.get(state.STAFF_LANGUAGE, ""),
        "request_path": request.path_qs,
        "page": "",
        "principal": who,
        "csrf_token": state.csrf_token(request),
        "is_admin": who.role is Role.ADMIN,
        "is_care_staff": who.role in (Role.NURSE, Role.ADMIN),
    }
    base.update(context)
    response = aiohttp_jinja2.render_template(template, request, base, status=status)
    return response


def error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    if is_api(request):
        response = web.json_response({"error": code, "message": message}, status=status)
    else:
        response = render(
            request,
            "error.html",
            {"status": status, "code": code, "message": message},
            status=status,
        )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
