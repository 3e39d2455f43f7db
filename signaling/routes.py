"""Every client message type, declared once: who may send it, what serves it, what it does.

The dispatcher routes by this table, the permission check reads its roles, and the client
message table of docs/protocol.md is rendered from it (`python -m signaling.routes`; a test
keeps the doc current). A message type missing here fails at import.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from care_sessions.identity import Role
from care_sessions.permissions import ADMIN, CARE_STAFF, EVERYONE, ROOM_STAFF, STAFF, TABLET
from protocol.messages import (
    AttentionResolve,
    CallAnswer,
    CallDecline,
    CallEnd,
    CallRecordStart,
    CallRecordStop,
    CallStart,
    CheckinConfirm,
    CheckinPending,
    CheckinRecord,
    ClientMessage,
    EchoAnswer,
    EchoStart,
    EchoStop,
    EscalationClose,
    FleetReload,
    FleetSelftest,
    FleetWatch,
    Hello,
    HelpCancel,
    HelpRequestMsg,
    HelpTake,
    MediaAnswer,
    MediaOffer,
    Ping,
    Pong,
    ProtocolError,
    RoomEnd,
    RoomJoin,
    RoomLeave,
    RoomLock,
    RoomMute,
    RoomMuteAll,
    RoomOpen,
    RoomRemove,
    RoomSideCall,
    RoomSpotlight,
    RoomSync,
    SelftestResult,
    TabletHeartbeat,
)
from signaling.connection import Connection

if TYPE_CHECKING:
    from care_services.calls import CallService
    from care_services.checkins import CheckinService
    from care_services.echo import EchoService
    from care_services.fleet import FleetService
    from care_services.help_desk import HelpDesk
    from care_services.insight import InsightService
    from care_services.rooms import RoomService

M = TypeVar("M", bound=ClientMessage)


class Feature(Enum):
    """What serves a message; a feature this process was built without answers invalid_state."""

    CORE = "core"
    CALLS = "calls"
    HELP = "help requests"
    CHECKINS = "check-ins"
    ROOMS = "rooms"
    ECHO = "echo tests"
    FLEET = "the fleet"
    RECORDING = "recording"


@dataclass
class Handlers:
    """The services messages reach; None where this process runs without the feature."""

    calls: CallService
    help_desk: HelpDesk
    checkins: CheckinService | None = None
    rooms: RoomService | None = None
    echo: EchoService | None = None
    fleet: FleetService | None = None
    insight: InsightService | None = None

    def has(self, feature: Feature) -> bool:
        service: object = {
            Feature.CHECKINS: self.checkins,
            Feature.ROOMS: self.rooms,
            Feature.ECHO: self.echo,
            Feature.FLEET: self.fleet,
            Feature.RECORDING: self.insight,
        }.get(feature, True)
        return service is not None


# What a handler returns is of no interest: replies go through the connection.
Handler = Callable[[Handlers, Connection, M], Awaitable[object]]


@dataclass(frozen=True)
class Route(Generic[M]):
    """One message type: its roles, the feature that serves it, its handler, and its doc row."""

    message: type[M]
    roles: frozenset[Role]
    feature: Feature
    handle: Handler[M]
    # The doc table's "who may send" beyond the roles: the checks the service adds.
    who: str
    effect: str

    @property
    def type(self) -> str:
        tag = self.message.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


# ---- handlers that need more than one call ------------------------------------------------
# Services are reached through Handlers whose optional fields the dispatcher has checked
# against the route's feature; the asserts below restate that for mypy.


async def _pong(_h: Handlers, conn: Connection, m: Ping) -> None:
    await conn.send(Pong(ref=m.ref))


async def _hello_again(_h: Handlers, _conn: Connection, m: Hello) -> None:
    raise ProtocolError("invalid_state", "already authenticated", m.ref)


async def _media_offer(h: Handlers, conn: Connection, m: MediaOffer) -> None:
    # A room's media uses the session id as call id; everything else is a call's.
    if h.rooms is not None and h.rooms.handles(m.call_id):
        await h.rooms.media_offer(conn.principal, m.call_id, m.sdp, m.ref)
    else:
        await h.calls.media_offer(conn.principal, m.call_id, m.sdp, m.ref)


async def _media_answer(h: Handlers, conn: Connection, m: MediaAnswer) -> None:
    if h.rooms is not None and h.rooms.handles(m.call_id):
        await h.rooms.media_answer(conn.principal, m.call_id, m.sdp)
    else:
        await h.calls.media_answer(conn.principal, m.call_id, m.sdp)


async def _echo_start(h: Handlers, conn: Connection, m: EchoStart) -> None:
    assert h.echo is not None
    echo_id, answer, max_s = await h.echo.start(conn.principal, m.sdp)
    await conn.send(EchoAnswer(ref=m.ref, echo_id=echo_id, sdp=answer, max_s=max_s))


async def _checkin_pending(h: Handlers, conn: Connection, m: CheckinPending) -> None:
    assert h.checkins is not None
    await conn.send(await h.checkins.reminders_message(conn.principal.subject_id, ref=m.ref))


async def _checkin_record(h: Handlers, conn: Connection, m: CheckinRecord) -> None:
    assert h.checkins is not None
    who = conn.principal
    await h.checkins.record(who, m.checkin_id, m.outcome, m.glucose_mmol_l, m.note, m.ref)
    if h.insight is not None:
        await h.insight.note_checkin(who, m.checkin_id)


def _checkins(h: Handlers) -> CheckinService:
    assert h.checkins is not None
    return h.checkins


def _rooms(h: Handlers) -> RoomService:
    assert h.rooms is not None
    return h.rooms


def _fleet(h: Handlers) -> FleetService:
    assert h.fleet is not None
    return h.fleet


def _insight(h: Handlers) -> InsightService:
    assert h.insight is not None
    return h.insight


def _echo(h: Handlers) -> EchoService:
    assert h.echo is not None
    return h.echo


_F = Feature
_TABLET_ONLY = frozenset({Role.TABLET})
_PARTICIPANTS = CARE_STAFF | ROOM_STAFF | {Role.TABLET, Role.FAMILY}

# Not annotated: each Route's message type is then inferred from its first argument, and mypy
# checks the handler against that type.
ROUTES = (
    Route(
        Hello,
        EVERYONE,
        _F.CORE,
        _hello_again,
        "",
        "authenticates the socket; must be its first message (again: `invalid_state`)",
    ),
    Route(Ping, EVERYONE, _F.CORE, _pong, "", "server replies `pong` (same `ref`)"),
    Route(
        CallStart,
        CARE_STAFF | {Role.FAMILY},
        _F.CALLS,
        lambda h, c, m: h.calls.start(c.principal, m.client_id, ref=m.ref),
        "a family member for their own client only",
        "rings the client's tablet ([Family calls](#family-calls))",
    ),
    Route(
        CallAnswer,
        _TABLET_ONLY,
        _F.CALLS,
        lambda h, c, m: h.calls.answer(c.principal, m.call_id),
        "the called client",
        "answers a ringing call",
    ),
    Route(
        CallDecline,
        _TABLET_ONLY,
        _F.CALLS,
        lambda h, c, m: h.calls.decline(c.principal, m.call_id),
        "the called client",
        "declines a ringing call",
    ),
    Route(
        CallEnd,
        CARE_STAFF | {Role.TABLET, Role.FAMILY},
        _F.CALLS,
        lambda h, c, m: h.calls.hang_up(c.principal, m.call_id),
        "a participant",
        "ends (or, while ringing, cancels) the call",
    ),
    Route(
        MediaOffer,
        _PARTICIPANTS,
        _F.CALLS,
        _media_offer,
        "a participant",
        "first SDP offer of this participant's peer connection (or a fresh one after "
        "`media.restart`); must pass the offer rules below, else `invalid_sdp`",
    ),
    Route(
        MediaAnswer,
        _PARTICIPANTS,
        _F.CALLS,
        _media_answer,
        "a participant",
        "answer to a server `media.offer` (renegotiation)",
    ),
    Route(
        CallRecordStart,
        CARE_STAFF,
        _F.RECORDING,
        lambda h, c, m: _insight(h).start_recording(c.principal, m.call_id),
        "the one who placed the call",
        "starts recording; refused with `consent_required` unless the client's recording "
        "consent is on record, `invalid_state` before the call is answered or when no "
        "recording key is configured; both ends get `call.recording`",
    ),
    Route(
        CallRecordStop,
        CARE_STAFF,
        _F.RECORDING,
        lambda h, c, m: _insight(h).stop_recording(c.principal, m.call_id),
        "the one who placed the call",
        "stops recording (idempotent); both ends get `call.recording{active:false}`",
    ),
    Route(
        HelpRequestMsg,
        _TABLET_ONLY,
        _F.HELP,
        lambda h, c, m: h.help_desk.request(c.principal, m.ref),
        "",
        "puts the client in the nurses' help queue (idempotent); the reply is `help.queued`",
    ),
    Route(
        HelpCancel,
        _TABLET_ONLY,
        _F.HELP,
        lambda h, c, m: h.help_desk.cancel(c.principal),
        "",
        "leaves the help queue",
    ),
    Route(
        HelpTake,
        CARE_STAFF,
        _F.HELP,
        lambda h, c, m: h.help_desk.take(c.principal, m.help_id, m.ref),
        "",
        "takes a queued help request and calls the client (the reply is `call.ringing`); "
        "an id not in the open queue (unknown, already taken or cancelled) gets `not_found`",
    ),
    Route(
        CheckinPending,
        TABLET,
        _F.CHECKINS,
        _checkin_pending,
        "",
        "asks for its open check-ins; the reply is `checkin.reminders` (send after every "
        "`welcome`)",
    ),
    Route(
        CheckinConfirm,
        TABLET,
        _F.CHECKINS,
        lambda h, c, m: _checkins(h).confirm(
            c.principal, m.checkin_id, m.outcome, m.glucose_mmol_l, m.ref
        ),
        "the check-in's client",
        "the client pressed the reminder's big button (`outcome`: `taken`, `measured`, "
        "`done`; [Check-ins](#check-ins))",
    ),
    Route(
        CheckinRecord,
        CARE_STAFF,
        _F.CHECKINS,
        _checkin_record,
        "",
        "records a check-in's outcome (the form beside the video)",
    ),
    Route(
        EscalationClose,
        CARE_STAFF,
        _F.CHECKINS,
        lambda h, c, m: _checkins(h).close_escalation(c.principal, m.escalation_id, m.note, m.ref),
        "",
        "closes a follow-up task without an outcome (`note`: 1-500 chars); the check-in "
        "becomes `closed`",
    ),
    Route(
        AttentionResolve,
        CARE_STAFF,
        _F.CHECKINS,
        lambda h, c, m: _checkins(h).resolve_flag(c.principal, m.flag_id, m.action, m.note),
        "",
        "acts on or dismisses an attention flag (`action`: `called`, `plan_adjusted`, "
        "`dismissed`); `dismissed` needs a note",
    ),
    Route(
        RoomSync,
        ROOM_STAFF | TABLET,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).sync(c.principal),
        "",
        "asks which of my rooms are open now; tablets get `room.starting` (or, if seated, "
        "`room.state` and `room.media_map`), hosts `room.starting` for the rooms they run "
        "(send after every `welcome`; [Rooms](#rooms))",
    ),
    Route(
        RoomOpen,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).open(c.principal, m.room_id),
        "the room's own host",
        "opens the room now (early, or one without a schedule); idempotent; the sender gets "
        "`room.state`, member tablets `room.starting`",
    ),
    Route(
        RoomJoin,
        ROOM_STAFF | TABLET,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).join(c.principal, m.room_id),
        "member tablets, the room's own host",
        "takes a seat (a host's join opens the room if needed); everyone seated gets `room.state`",
    ),
    Route(
        RoomLeave,
        ROOM_STAFF | TABLET,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).leave(c.principal, m.room_id),
        "someone seated",
        'leaves the table; the leaver gets `room.left{reason:"left"}`',
    ),
    Route(
        RoomMute,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).mute(c.principal, m.room_id, m.subject_id, m.muted),
        "the room's own host",
        "the server stops (or resumes) forwarding that home's microphone to everyone; "
        "everyone (the muted tablet too) sees it in `room.state`",
    ),
    Route(
        RoomMuteAll,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).mute_all(c.principal, m.room_id, m.muted),
        "the room's own host",
        "the same for every home (never the host seat)",
    ),
    Route(
        RoomSpotlight,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).spotlight(c.principal, m.room_id, m.subject_id),
        "the room's own host",
        "shows that person (`subject_id`, or null) large on every tablet (`large_id`) and "
        "lifts them to full-rate publishing; null ends it",
    ),
    Route(
        RoomRemove,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).remove(c.principal, m.room_id, m.subject_id),
        "the room's own host",
        'takes a home out of the meeting; it gets `room.left{reason:"removed"}` and cannot '
        "join again this meeting",
    ),
    Route(
        RoomLock,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).lock_room(c.principal, m.room_id, m.locked),
        "the room's own host",
        "a locked room takes nobody new (those who sat down earlier may come back)",
    ),
    Route(
        RoomSideCall,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).side_call(c.principal, m.room_id, m.subject_id),
        "the room's own host, seated",
        "a private talk (`subject_id`, or null): the host and that home see and hear only "
        "each other, the table only itself; null brings both back",
    ),
    Route(
        RoomEnd,
        ROOM_STAFF,
        _F.ROOMS,
        lambda h, c, m: _rooms(h).end(c.principal, m.room_id),
        "the room's own host",
        'ends the meeting for everyone: `room.ended{reason:"ended_by_host"}`',
    ),
    Route(
        EchoStart,
        STAFF | {Role.TABLET, Role.PROBE},
        _F.ECHO,
        _echo_start,
        "",
        "starts an echo test: the reply is `echo.answer` with the same `ref` "
        "([Echo test](#echo-test))",
    ),
    Route(
        EchoStop,
        STAFF | {Role.TABLET, Role.PROBE},
        _F.ECHO,
        lambda h, c, m: _echo(h).stop(c.principal, m.echo_id),
        "who started it",
        'ends the echo test; `echo.stopped{reason:"stopped"}`',
    ),
    Route(
        TabletHeartbeat,
        TABLET,
        _F.FLEET,
        lambda h, c, m: _fleet(h).heartbeat(c.principal, m),
        "for itself only",
        "how the tablet is; stored as its latest status and shown on the fleet page "
        "([Fleet](#fleet))",
    ),
    Route(
        SelftestResult,
        TABLET,
        _F.FLEET,
        lambda h, c, m: _fleet(h).selftest_result(c.principal, m),
        "the run's own device",
        "the answer to `selftest.run` (`checks`: `[{name, outcome, detail?}]`)",
    ),
    Route(
        FleetWatch,
        ADMIN,
        _F.FLEET,
        lambda h, c, m: _fleet(h).watch(c, m.ref),
        "",
        "follow the fleet: the reply is `fleet.snapshot`, then `fleet.device`, "
        "`fleet.removed` and `fleet.alerts` as things change (send after every `welcome`)",
    ),
    Route(
        FleetReload,
        ADMIN,
        _F.FLEET,
        lambda h, c, m: _fleet(h).reload(c, m.device_id, m.ref),
        "",
        "the tablet loads its page again (`tablet.reload`); the reply is `fleet.sent`",
    ),
    Route(
        FleetSelftest,
        ADMIN,
        _F.FLEET,
        lambda h, c, m: _fleet(h).request_selftest(c, m.device_id, m.ref),
        "",
        "the tablet runs its self-test now (`selftest.run`); the reply is `fleet.sent` with "
        "the `run_id`",
    ),
)

ROUTE_BY_TYPE: dict[str, Route[Any]] = {route.type: route for route in ROUTES}
# Roles per message type, for tests and tools that walk the permissions.
MESSAGE_ROLES: dict[str, frozenset[Role]] = {t: r.roles for t, r in ROUTE_BY_TYPE.items()}

_declared = {route.message for route in ROUTES}
_union = set(typing.get_args(ClientMessage))
if len(ROUTES) != len(ROUTE_BY_TYPE) or _declared != _union:
    raise RuntimeError(
        "signaling.routes must declare every client message exactly once: "
        f"missing {sorted(t.__name__ for t in _union - _declared)}, "
        f"extra {sorted(t.__name__ for t in _declared - _union)}"
    )

# ---- the doc table ----------------------------------------------------------------------

_ROLE_ORDER = (Role.NURSE, Role.HOST, Role.ADMIN, Role.TABLET, Role.FAMILY, Role.PROBE)


def _roles_text(route: Route[Any]) -> str:
    if route.roles == EVERYONE:
        roles = "everyone"
    else:
        roles = ", ".join(role.value for role in _ROLE_ORDER if role in route.roles)
    return f"{roles}: {route.who}" if route.who else roles


def _fields_text(message: type[msgspec.Struct]) -> str:
    shown = []
    for field in msgspec.structs.fields(message):
        if field.name in ("v", "ref"):
            continue
        optional = field.required is False
        shown.append(f"`{field.name}{'?' if optional else ''}`")
    return ", ".join(shown)


def markdown_table() -> str:
    """The client message table of docs/protocol.md."""
    lines = ["| type | fields | who may send | effect |", "|---|---|---|---|"]
    for route in ROUTES:
        fields = _fields_text(route.message)
        lines.append(f"| `{route.type}` | {fields} | {_roles_text(route)} | {route.effect} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown_table())
