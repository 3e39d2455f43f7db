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
# Meal and exercise rooms are run by their host (or an admin standing in); signaling.rooms
# also checks that a host runs only their own rooms and a tablet joins only its own.
ROOM_STAFF = frozenset({R.HOST, R.ADMIN})

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
    "GET admin.client_privacy": CARE_STAFF,
    "POST admin.consent": CARE_STAFF,
    "GET admin.client_export": ADMIN,
    "POST admin.client_erase": ADMIN,
    "GET access_log": ADMIN,
    # Staff add relatives with the client's consent; the call page itself is a shell that
    # authenticates over the WebSocket with the link's secret.
    "GET admin.family": CARE_STAFF,
    "POST admin.family_invite": CARE_STAFF,
    "POST admin.family_revoke": CARE_STAFF,
    "GET family": EVERYONE,
    "GET api.tablet_access_log": TABLET,
    "GET api.tablet_export": TABLET,
    "GET tablet": EVERYONE,
    "POST api.tablet_pair": EVERYONE,
    "GET api.tablet_me": TABLET,
    "GET ws": EVERYONE,
    "GET reports": CARE_STAFF,
    "GET reports.print": CARE_STAFF,
    "GET reports.export": CARE_STAFF,
    "GET api.reports": CARE_STAFF,
    "GET api.checkins_today": CARE_STAFF,
    "GET api.escalations": CARE_STAFF,
    "GET api.attention": CARE_STAFF,
    "GET care_plan": CARE_STAFF,
    "POST care_plan.add": CARE_STAFF,
    "POST care_plan.end": CARE_STAFF,
    "POST care_plan.profile": CARE_STAFF,
    "GET rooms": ROOM_STAFF,
    "POST rooms.create": ROOM_STAFF,
    "GET rooms.console": ROOM_STAFF,
    "POST rooms.update": ROOM_STAFF,
    "GET api.room_attendance": STAFF,
    # Anonymous at the edge: web/routes_metrics.py answers loopback or a bearer token only.
    "GET metrics": EVERYONE,
    "GET recordings.download": CARE_STAFF,
    # The tablet fleet: enrolment with a QR code, live status, remote settings.
    "GET admin.fleet": ADMIN,
    "POST admin.fleet_settings": ADMIN,
    "POST admin.fleet_pairing": ADMIN,
}

# Keyed by the message's "type".
MESSAGE_RULES: dict[str, frozenset[Role]] = {
    "hello": EVERYONE,
    "ping": EVERYONE,
    # A relative calls only the client their link belongs to (signaling.calls checks).
    "call.start": CARE_STAFF | {R.FAMILY},
    "call.answer": frozenset({R.TABLET}),
    "call.decline": frozenset({R.TABLET}),
    "call.end": CARE_STAFF | {R.TABLET, R.FAMILY},
    # signaling.insight also checks the nurse is in the call and the client's consent.
    "call.record_start": CARE_STAFF,
    "call.record_stop": CARE_STAFF,
    "media.offer": CARE_STAFF | ROOM_STAFF | {R.TABLET, R.FAMILY},
    "media.answer": CARE_STAFF | ROOM_STAFF | {R.TABLET, R.FAMILY},
    "help.request": frozenset({R.TABLET}),
    "help.cancel": frozenset({R.TABLET}),
    "help.take": CARE_STAFF,
    # A tablet confirms only its own client's check-ins: the service looks the check-in up
    # by the socket's client and answers not_found for anyone else's.
    "checkin.pending": TABLET,
    "checkin.confirm": TABLET,
    "checkin.record": CARE_STAFF,
    "escalation.close": CARE_STAFF,
    "attention.resolve": CARE_STAFF,
    "room.sync": ROOM_STAFF | TABLET,
    "room.join": ROOM_STAFF | TABLET,
    "room.leave": ROOM_STAFF | TABLET,
    "room.open": ROOM_STAFF,
    "room.mute": ROOM_STAFF,
    "room.mute_all": ROOM_STAFF,
    "room.spotlight": ROOM_STAFF,
    "room.remove": ROOM_STAFF,
    "room.lock": ROOM_STAFF,
    "room.side_call": ROOM_STAFF,
    "room.end": ROOM_STAFF,
    # The echo test: a tablet's self-test, staff checking their camera, the synthetic probe.
    "echo.start": STAFF | {R.TABLET, R.PROBE},
    "echo.stop": STAFF | {R.TABLET, R.PROBE},
    # A tablet reports only for itself: signaling.fleet takes the device from the socket's
    # token and refuses a heartbeat naming another device, or a result for another's run.
    "tablet.heartbeat": TABLET,
    "selftest.result": TABLET,
    "fleet.watch": ADMIN,
    "fleet.reload": ADMIN,
    "fleet.selftest": ADMIN,
}


def route_allowed(route: str, role: Role) -> bool:
    return role in ROUTE_RULES.get(route, frozenset())


def message_allowed(message_type: str, role: Role) -> bool:
    return role in MESSAGE_RULES.get(message_type, frozenset())
