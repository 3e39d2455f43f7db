"""Security headers on every answer, including error pages and redirects."""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

# Scripts and styles only from our own origin: no inline code anywhere, so templates pass
# data to scripts through data-* attributes. base-uri and form-action are not covered by
# default-src, hence named.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_HSTS = "max-age=31536000"
_BASE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    # Only our own pages may use the camera and microphone; nothing else is needed.
    "Permissions-Policy": "camera=(self), microphone=(self), geolocation=(), payment=()",
}


def security_headers_middleware(*, hsts: bool) -> Middleware:
    """Build the outermost middleware; HSTS only when Hoiva is really served over TLS."""
    headers = dict(_BASE_HEADERS)
    if hsts:
        headers["Strict-Transport-Security"] = _HSTS

    def apply(request: web.Request, response: web.StreamResponse) -> None:
        if response.prepared:  # a WebSocket has already sent its handshake
            return
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        route_name = request.match_info.route.name or ""
        # Pages carry names, care records and CSRF tokens: keep them out of shared caches
        # and the back-button cache of a shared nurse station.
        if not route_name.startswith("static"):
            response.headers.setdefault("Cache-Control", "no-store")

    @web.middleware
    async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            apply(request, exc)
            raise
        apply(request, response)
        return response

    return security_headers
