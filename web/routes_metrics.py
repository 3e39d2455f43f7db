"""GET /metrics: Prometheus text format, for scrapers on this host or holding the token.

Who may scrape (docs/media.md, "Metrics"): a request from the loopback address that came
through no proxy (no Forwarded / X-Forwarded-For header, and the server is not configured as
behind a TLS proxy, where every request arrives from loopback), or any request carrying
`X-Metrics-Token: <insight.metrics_token>`. The Authorization header is not used because it
means a tablet's device token everywhere else in Hoiva. Nothing served names a client.
"""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from web import state

TOKEN_HEADER = "X-Metrics-Token"
_PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP")


def _from_loopback(request: web.Request) -> bool:
    if any(name in request.headers for name in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


async def metrics(request: web.Request) -> web.StreamResponse:
    services = state.services(request)
    insight = services.insight
    if insight is None:
        raise web.HTTPNotFound(text="metrics are not enabled")
    token = services.settings.metrics_token
    presented = request.headers.get(TOKEN_HEADER, "")
    token_ok = token is not None and hmac.compare_digest(presented.encode(), token.encode())
    local_ok = _from_loopback(request) and not services.settings.behind_tls_proxy
    if not (token_ok or local_ok):
        raise web.HTTPForbidden(text="metrics are served to this host or with the metrics token")
    body = generate_latest(insight.metrics.registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/metrics", metrics, name="metrics")
