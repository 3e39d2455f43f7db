"""Who may do what: one table for HTTP routes and one for signaling messages, deny by default.

Both edges (web/ for routes, signaling/ for messages) look their caller up here and nowhere
else; tests walk every registered route and every message type against these tables.
"""

from __future__ import annotations

from care_sessions.identity import Role

R = Role
STAFF = frozenset({R.NURSE, R.HOST, R.ADMIN})
CARE_STAFF = frozenset({R.NURSE, R.ADMIN})
EVERYONE = frozenset(Role)

ADMIN = frozenset({R.ADMIN})
TABLET = frozenset({R.TABLET})

# Keyed by "<METHOD> <aiohttp route name>"; a route missing here is refused (and fails
# tests/test_permissions.py). Anonymous routes authenticate inside (login, pairing, the
# WebSocket's hello) or serve nothing about anyone (static files, the kiosk page's shell).
ROUTE_RULES: dict[str, frozenset[Role]] = {
    "GET index": EVERYONE,
    "GET healthz": EVERYONE,
    "GET static": EVERYONE,
    "GET static.tablet": EVERYONE,
    "GET login": EVERYONE,
    "POST login": EVERYONE,
    "POST logout": STAFF,
    "GET dashboard": CARE_STAFF,
    "GET sessions": CARE_STAFF,
    "GET api.clients": CARE_STAFF,
    "GET api.sessions": CARE_STAFF,
    "GET admin": ADMIN,
    "POST admin.client_create": ADMIN,
    "POST admin.client_settings": ADMIN,
    "POST admin.pairing_code": ADMIN,
    "POST admin.device_revoke": ADMIN,
    "GET tablet": EVERYONE,
    "POST api.tablet_pair": EVERYONE,
    "GET api.tablet_me": TABLET,
    "GET ws": EVERYONE,
}

# Keyed by the message's "type".
MESSAGE_RULES: dict[str, frozenset[Role]] = {
    "hello": EVERYONE,
    "ping": EVERYONE,
    "call.start": CARE_STAFF,
    "call.answer": frozenset({R.TABLET}),
    "call.decline": frozenset({R.TABLET}),
    "call.end": CARE_STAFF | {R.TABLET},
    "media.offer": CARE_STAFF | {R.TABLET},
    "media.answer": CARE_STAFF | {R.TABLET},
    "help.request": frozenset({R.TABLET}),
    "help.cancel": frozenset({R.TABLET}),
    "help.take": CARE_STAFF,
}


def route_allowed(route: str, role: Role) -> bool:
    return role in ROUTE_RULES.get(route, frozenset())


def message_allowed(message_type: str, role: Role) -> bool:
    return role in MESSAGE_RULES.get(message_type, frozenset())
