"""Who may do what: the role sets, and the table for HTTP routes, deny by default.

web/ looks a route's caller up here and nowhere else; signaling/routes.py declares each
message type's roles from the same role sets. Tests walk every registered route and every
message type against these tables.
"""

from __future__ import annotations

from care_sessions.identity import Role

R = Role
STAFF = frozenset({R.NURSE, R.HOST, R.ADMIN})
CARE_STAFF = frozenset({R.NURSE, R.ADMIN})
EVERYONE = frozenset(Role)

ADMIN = frozenset({R.ADMIN})
TABLET = frozenset({R.TABLET})
# Meal and exercise rooms are run by their host (or an admin standing in); care_services.rooms
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
    "POST account.language": STAFF,
    # The message catalogues are the same for everyone and name no one.
    "GET i18n.catalogue": EVERYONE,
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


def route_allowed(route: str, role: Role) -> bool:
    return role in ROUTE_RULES.get(route, frozenset())
