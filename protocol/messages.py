"""Hoiva signaling protocol v1: every wire message, parsed and dumped in one place.

docs/protocol.md is the human-readable specification of this module.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 256 * 1024

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Ref = Annotated[str, msgspec.Meta(max_length=64)]
Sdp = Annotated[str, msgspec.Meta(min_length=10, max_length=128 * 1024)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class _Message(
    msgspec.Struct,
    frozen=True,
    kw_only=True,
    omit_defaults=True,
    forbid_unknown_fields=True,
    tag_field="type",
):
    v: int = PROTOCOL_VERSION
    # A client may tag a request; replies and errors about it carry the same ref.
    ref: Ref | None = None


# ---- client -> server -------------------------------------------------------------------


class Hello(_Message, frozen=True, tag="hello"):
    token: Token | None = None  # tablets: the device token; staff: session cookie instead
    # The resume token of this client's previous socket (from its welcome), when reconnecting.
    resume_token: Token | None = None
    agent: ShortText = ""


class Ping(_Message, frozen=True, tag="ping"):
    pass


class CallStart(_Message, frozen=True, tag="call.start"):
    client_id: Id


class CallAnswer(_Message, frozen=True, tag="call.answer"):
    call_id: Id


class CallDecline(_Message, frozen=True, tag="call.decline"):
    call_id: Id


class CallEnd(_Message, frozen=True, tag="call.end"):
    call_id: Id


class MediaOffer(_Message, frozen=True, tag="media.offer"):
    """Client -> server: the first offer of a call. Server -> client: a renegotiation."""

    call_id: Id
    sdp: Sdp


class MediaAnswer(_Message, frozen=True, tag="media.answer"):
    call_id: Id
    sdp: Sdp


class CallRecordStart(_Message, frozen=True, tag="call.record_start"):
    """Nurse: start recording the call (refused without the client's recording consent)."""

    call_id: Id


class CallRecordStop(_Message, frozen=True, tag="call.record_stop"):
    call_id: Id


class HelpRequestMsg(_Message, frozen=True, tag="help.request"):
    pass


class HelpCancel(_Message, frozen=True, tag="help.cancel"):
    pass


class HelpTake(_Message, frozen=True, tag="help.take"):
    help_id: Id


# Care check-ins (docs/protocol.md, "Check-ins"). Ranges are the domain's, repeated here so
# that a bad value is refused at the edge with bad_message before anything else runs.
GlucoseMmolL = Annotated[float, msgspec.Meta(ge=1.0, le=35.0)]
Note = Annotated[str, msgspec.Meta(max_length=500)]
RequiredNote = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
OutcomeName = Literal[
    "taken", "not_taken", "refused", "measured", "not_measured", "done", "not_done"
]


class CheckinPending(_Message, frozen=True, tag="checkin.pending"):
    """Tablet: send me my open check-ins (after every welcome)."""


class CheckinConfirm(_Message, frozen=True, tag="checkin.confirm"):
    """Tablet: the client pressed "I have taken it" (or "I did it", or saved a value)."""

    checkin_id: Id
    outcome: Literal["taken", "measured", "done"]
    glucose_mmol_l: GlucoseMmolL | None = None


class CheckinRecord(_Message, frozen=True, tag="checkin.record"):
    """Nurse: the outcome of a check-in, from the form beside the video."""

    checkin_id: Id
    outcome: OutcomeName
    glucose_mmol_l: GlucoseMmolL | None = None
    note: Note = ""


class EscalationClose(_Message, frozen=True, tag="escalation.close"):
    """Nurse: close a follow-up task when no outcome can be known; the note says why."""

    escalation_id: Id
    note: RequiredNote


class AttentionResolve(_Message, frozen=True, tag="attention.resolve"):
    flag_id: Id
    action: Literal["called", "plan_adjusted", "dismissed"]
    note: Note = ""


# Shared-meal and exercise rooms (docs/protocol.md, "Rooms"). Media of a room uses
# media.offer / media.answer with call_id = the session id from room.state.


class RoomSync(_Message, frozen=True, tag="room.sync"):
    """After every welcome: tell me about my rooms that are open now."""


class RoomOpen(_Message, frozen=True, tag="room.open"):
    """Host: open the room now (early, or without a schedule); idempotent."""

    room_id: Id


class RoomJoin(_Message, frozen=True, tag="room.join"):
    room_id: Id


class RoomLeave(_Message, frozen=True, tag="room.leave"):
    room_id: Id


class RoomMute(_Message, frozen=True, tag="room.mute"):
    """Host: stop (or resume) forwarding one participant's microphone to everyone."""

    room_id: Id
    subject_id: Id
    muted: bool


class RoomMuteAll(_Message, frozen=True, tag="room.mute_all"):
    room_id: Id
    muted: bool


class RoomSpotlight(_Message, frozen=True, tag="room.spotlight"):
    """Host: show this person large on every tablet; null ends the spotlight."""

    room_id: Id
    subject_id: Id | None


class RoomRemove(_Message, frozen=True, tag="room.remove"):
    room_id: Id
    subject_id: Id


class RoomLock(_Message, frozen=True, tag="room.lock"):
    room_id: Id
    locked: bool


class RoomSideCall(_Message, frozen=True, tag="room.side_call"):
    """Host: talk privately with one home (null: both go back to the table)."""

    room_id: Id
    subject_id: Id | None


class RoomEnd(_Message, frozen=True, tag="room.end"):
    room_id: Id


class EchoStart(_Message, frozen=True, tag="echo.start"):
    """Offer media for an echo test: the server sends it straight back (self-test, probe)."""

    sdp: Sdp


class EchoStop(_Message, frozen=True, tag="echo.stop"):
    echo_id: Id


# Tablet fleet (docs/protocol.md, "Fleet"). The enumerations are the browser's own words
# (navigator.connection, navigator.permissions), "unknown" where it does not tell.
PermissionName = Literal["granted", "denied", "prompt", "unknown"]
AppVersion = Annotated[
    str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.+/-]+$")
]
CheckDetail = Annotated[str, msgspec.Meta(max_length=200)]


class TabletHeartbeat(_Message, frozen=True, tag="tablet.heartbeat"):
    """Tablet: how I am (every fleet heartbeat period, and at once when something changes)."""

    app_version: AppVersion
    # Optional: the server knows the device from the token. When given, it must be the
    # sender's own, or the heartbeat is refused with forbidden.
    device_id: Id | None = None
    connection_type: Literal[
        "wifi",
        "cellular",
        "ethernet",
        "bluetooth",
        "wimax",
        "mixed",
        "other",
        "none",
        "unknown",
    ] = "unknown"
    effective_type: Literal["slow-2g", "2g", "3g", "4g", "unknown"] = "unknown"
    downlink_mbps: Annotated[float, msgspec.Meta(ge=0, le=10_000)] | None = None
    # Round trip of the tablet's last application ping over this socket.
    rtt_ms: Annotated[float, msgspec.Meta(ge=0, le=120_000)] | None = None
    camera: PermissionName = "unknown"
    microphone: PermissionName = "unknown"
    screen: Literal["on", "off", "unknown"] = "unknown"
    battery_pct: Annotated[int, msgspec.Meta(ge=0, le=100)] | None = None
    charging: bool | None = None


class SelftestCheck(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One check of a self-test, in selftest.result and on the fleet page."""

    name: Literal["camera", "microphone", "speaker", "media_server", "turn"]
    outcome: Literal["pass", "fail", "skipped"]
    detail: CheckDetail = ""


class SelftestResult(_Message, frozen=True, tag="selftest.result"):
    """Tablet: the answer to selftest.run (the run must have been asked of this device)."""

    run_id: Id
    checks: Annotated[list[SelftestCheck], msgspec.Meta(max_length=10)]


class FleetWatch(_Message, frozen=True, tag="fleet.watch"):
    """Admin: send me the whole fleet now (fleet.snapshot) and every change after."""


class FleetReload(_Message, frozen=True, tag="fleet.reload"):
    """Admin: reload the kiosk page of this tablet."""

    device_id: Id


class FleetSelftest(_Message, frozen=True, tag="fleet.selftest"):
    """Admin: run the self-test on this tablet now."""

    device_id: Id


ClientMessage = (
    Hello
    | Ping
    | CallStart
    | CallAnswer
    | CallDecline
    | CallEnd
    | MediaOffer
    | MediaAnswer
    | CallRecordStart
    | CallRecordStop
    | HelpRequestMsg
    | HelpCancel
    | HelpTake
    | CheckinPending
    | CheckinConfirm
    | CheckinRecord
    | EscalationClose
    | AttentionResolve
    | RoomSync
    | RoomOpen
    | RoomJoin
    | RoomLeave
    | RoomMute
    | RoomMuteAll
    | RoomSpotlight
    | RoomRemove
    | RoomLock
    | RoomSideCall
    | RoomEnd
    | EchoStart
    | EchoStop
    | TabletHeartbeat
    | SelftestResult
    | FleetWatch
    | FleetReload
    | FleetSelftest
)

CLIENT_MESSAGE_TYPES: tuple[type[_Message], ...] = (
    Hello,
    Ping,
    CallStart,
    CallAnswer,
    CallDecline,
    CallEnd,
    MediaOffer,
    MediaAnswer,
    CallRecordStart,
    CallRecordStop,
    HelpRequestMsg,
    HelpCancel,
    HelpTake,
    CheckinPending,
    CheckinConfirm,
    CheckinRecord,
    EscalationClose,
    AttentionResolve,
    RoomSync,
    RoomOpen,
    RoomJoin,
    RoomLeave,
    RoomMute,
    RoomMuteAll,
    RoomSpotlight,
    RoomRemove,
    RoomLock,
    RoomSideCall,
    RoomEnd,
    EchoStart,
    EchoStop,
    TabletHeartbeat,
    SelftestResult,
    FleetWatch,
    FleetReload,
    FleetSelftest,
)


# ---- server -> client -------------------------------------------------------------------


class ClientSettingsOut(msgspec.Struct, frozen=True):
    language: str
    auto_answer: bool
    auto_answer_after_s: int
    volume: int = 80
    text_size: str = "large"
    # Local "HH:MM" (Europe/Helsinki); both null when the client has no quiet hours.
    quiet_from: str | None = None
    quiet_until: str | None = None
    family_auto_answer: bool = False


class IceServerOut(msgspec.Struct, frozen=True, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class FamilyOfOut(msgspec.Struct, frozen=True):
    """For a relative's socket: the one client their link may call."""

    client_id: str
    first_name: str


class Welcome(_Message, frozen=True, tag="welcome"):
    protocol: int
    role: str
    subject_id: str
    display_name: str
    heartbeat_s: int
    # Tablets: send tablet.heartbeat this often (seconds; fleet.heartbeat_s).
    tablet_heartbeat_s: float | None = None
    settings: ClientSettingsOut | None = None
    # Pass these to RTCPeerConnection as they are; never add a default STUN server.
    ice_servers: list[IceServerOut] = []
    # Present this in the next hello after a lost socket, on any instance (docs/scaleout.md).
    resume_token: str | None = None
    # True when the hello's resume token was valid: the server restored this socket's calls.
    resumed: bool = False
    family_of: FamilyOfOut | None = None


class Pong(_Message, frozen=True, tag="pong"):
    pass


class Error(_Message, frozen=True, tag="error"):
    code: str
    message: str


class CallIncoming(_Message, frozen=True, tag="call.incoming"):
    call_id: str
    caller_name: str
    # Always sent: a tablet shows a relative's call differently from a care call.
    caller_kind: Literal["care", "family"]
    auto_answer_after_s: int | None = None


class CallRinging(_Message, frozen=True, tag="call.ringing"):
    call_id: str
    client_id: str
    client_name: str


class CallAccepted(_Message, frozen=True, tag="call.accepted"):
    call_id: str


class CallMedia(_Message, frozen=True, tag="call.media"):
    """Media state of one participant as the server's media layer sees it."""

    call_id: str
    subject_id: str
    state: Literal["connected", "failed", "closed"]


class CallEnded(_Message, frozen=True, tag="call.ended"):
    call_id: str
    reason: str
    # Why, in words, where the reason alone would not tell (a family call held back).
    message: str | None = None


class CallHint(_Message, frozen=True, tag="call.hint"):
    """To the nurse: what the client's camera looks like; hint null clears the last one."""

    call_id: str
    subject_id: str
    hint: Literal["dark", "covered", "frozen", "blurred", "no_face"] | None = None
    text: str = ""


class CallQuality(_Message, frozen=True, tag="call.quality"):
    """To the nurse, every few seconds per participant: how the connection is doing."""

    call_id: str
    subject_id: str
    level: Literal["good", "fair", "poor"]
    loss_pct: float
    rtt_ms: float | None = None
    fps: float = 0.0


class CallRecording(_Message, frozen=True, tag="call.recording"):
    """To both ends: recording is on (show it) or off."""

    call_id: str
    active: bool


class PresenceEntry(msgspec.Struct, frozen=True):
    client_id: str
    name: str
    status: str
    last_seen: str | None


class PresenceSnapshot(_Message, frozen=True, tag="presence.snapshot"):
    clients: list[PresenceEntry] = []


class PresenceUpdate(_Message, frozen=True, tag="presence.update"):
    client: PresenceEntry | None = None


class HelpEntry(msgspec.Struct, frozen=True):
    help_id: str
    client_id: str
    client_name: str
    created_at: str


class HelpQueue(_Message, frozen=True, tag="help.queue"):
    requests: list[HelpEntry] = []


class HelpQueued(_Message, frozen=True, tag="help.queued"):
    help_id: str


class HelpClosed(_Message, frozen=True, tag="help.closed"):
    help_id: str
    taken_by: str | None = None


class ReminderEntry(msgspec.Struct, frozen=True):
    """One open check-in as the tablet shows it; `confirm` is the outcome its button sends."""

    checkin_id: str
    kind: str
    label: str
    detail: str
    time: str
    status: str
    attempts: int
    confirm: str
    # False when the plan says the tablet does not remind: listed, but no alert when due.
    alert: bool = True


class CheckinReminders(_Message, frozen=True, tag="checkin.reminders"):
    """Tablet: all of its open check-ins; `ring` asks it to ring (a follow-up retry)."""

    reminders: list[ReminderEntry] = []
    ring: bool = False


class CheckinRecorded(_Message, frozen=True, tag="checkin.recorded"):
    checkin_id: str
    status: str
    outcome: str
    duplicate: bool = False


class CheckinEntry(msgspec.Struct, frozen=True):
    """One line of the nurses' day list."""

    checkin_id: str
    client_id: str
    client_name: str
    kind: str
    label: str
    detail: str
    time: str
    scheduled_at: str
    status: str
    attempts: int
    completed_by: str
    outcome: str | None = None


class CheckinUpdate(_Message, frozen=True, tag="checkin.update"):
    checkin: CheckinEntry | None = None


class EscalationEntry(msgspec.Struct, frozen=True):
    escalation_id: str
    checkin_id: str
    client_id: str
    client_name: str
    stage: str
    message: str
    created_at: str
    home_visit_at: str | None = None


class EscalationQueue(_Message, frozen=True, tag="escalation.queue"):
    escalations: list[EscalationEntry] = []


class AttentionEntry(msgspec.Struct, frozen=True):
    flag_id: str
    client_id: str
    client_name: str
    rule_id: str
    title: str
    reason: str
    raised_at: str


class AttentionList(_Message, frozen=True, tag="attention.list"):
    flags: list[AttentionEntry] = []


class RoomStarting(_Message, frozen=True, tag="room.starting"):
    """To member tablets (and the host): the room is open; show the big Join button."""

    room_id: str
    session_id: str
    name: str
    kind: str  # "meal" | "exercise"
    host_name: str
    ends_at: str
    # Present when the client's settings say the tablet joins by itself after a countdown.
    auto_join_after_s: int | None = None


class RoomParticipant(msgspec.Struct, frozen=True):
    subject_id: str
    name: str
    role: str  # "host" | "client"
    muted: bool
    away: bool  # in a side call with the host
    quality: str  # "connecting" | "good" | "fair" | "poor" | "lost"


class RoomState(_Message, frozen=True, tag="room.state"):
    """To everyone seated (after every change): who is at the table and what the host set."""

    room_id: str
    session_id: str
    name: str
    kind: str  # "meal" | "exercise"
    host_id: str
    ends_at: str
    locked: bool
    participants: list[RoomParticipant]
    large_id: str | None = None  # shown large on every tablet (spotlight or leader)
    spotlight_id: str | None = None
    side_call_id: str | None = None


class RoomTrack(msgspec.Struct, frozen=True):
    mid: str
    kind: str  # "audio" | "video"
    publisher_id: str
    paused: bool = False  # video held back by the server's bandwidth budget


class RoomMediaMap(_Message, frozen=True, tag="room.media_map"):
    """To one participant: whose media arrives on which of its transceivers (by mid)."""

    room_id: str
    session_id: str
    tracks: list[RoomTrack] = []


class RoomLeft(_Message, frozen=True, tag="room.left"):
    """To the one who left: reason left, removed, dropped or ended."""

    room_id: str
    session_id: str
    reason: str


class RoomEnded(_Message, frozen=True, tag="room.ended"):
    room_id: str
    session_id: str
    reason: str


class MediaRestart(_Message, frozen=True, tag="media.restart"):
    """The call's media moved to another server: drop the peer connection, offer again."""

    call_id: str


class MediaPublishHint(_Message, frozen=True, tag="media.publish_hint"):
    """What the server asks this publisher to send (group rooms; docs/media.md)."""

    call_id: str
    max_bitrate: int
    max_fps: int
    scale_down: float


class EchoAnswer(_Message, frozen=True, tag="echo.answer"):
    """The answer to echo.start (same ref); the echo test's media flows until echo.stopped."""

    echo_id: str
    sdp: str
    max_s: float


class EchoStopped(_Message, frozen=True, tag="echo.stopped"):
    echo_id: str
    reason: Literal["stopped", "timeout", "failed"]


class SettingsUpdate(_Message, frozen=True, tag="settings.update"):
    """To a tablet: its client's settings changed; apply them at once."""

    settings: ClientSettingsOut


class TabletReload(_Message, frozen=True, tag="tablet.reload"):
    """To a tablet: an admin asked for the kiosk page to be loaded again."""


class SelftestRun(_Message, frozen=True, tag="selftest.run"):
    """To a tablet: run the self-test and answer selftest.result with this run_id."""

    run_id: str
    trigger: Literal["requested", "daily"]


class TabletStatusOut(msgspec.Struct, frozen=True, omit_defaults=True):
    """A tablet's latest heartbeat as the fleet page shows it."""

    received_at: str
    app_version: str
    connection_type: str
    effective_type: str
    quality: str  # good, fair, poor, unknown (care_sessions.fleet.QUALITY_RULES)
    camera: str
    microphone: str
    screen: str
    downlink_mbps: float | None = None
    rtt_ms: float | None = None
    battery_pct: int | None = None
    charging: bool | None = None


class SelftestOut(msgspec.Struct, frozen=True, omit_defaults=True):
    run_id: str
    trigger: str
    state: str  # running, passed, failed, no_answer
    requested_at: str
    answered_at: str | None = None
    checks: list[SelftestCheck] = []


class FleetDeviceOut(msgspec.Struct, frozen=True, omit_defaults=True):
    """One line of the fleet page."""

    device_id: str
    client_id: str
    client_name: str
    label: str
    paired_at: str
    online: bool
    last_seen: str | None = None
    status: TabletStatusOut | None = None
    selftest: SelftestOut | None = None
    # When the tablet's open offline alert says it was last heard.
    offline_since: str | None = None


class FleetAlertOut(msgspec.Struct, frozen=True):
    alert_id: str
    device_id: str
    client_id: str
    client_name: str
    label: str
    last_seen: str
    raised_at: str


class FleetSnapshot(_Message, frozen=True, tag="fleet.snapshot"):
    """To an admin who sent fleet.watch: every tablet and every open offline alert."""

    heartbeat_s: float
    offline_alert_after_s: float
    devices: list[FleetDeviceOut] = []
    alerts: list[FleetAlertOut] = []


class FleetDevice(_Message, frozen=True, tag="fleet.device"):
    """To watching admins: one tablet's line changed."""

    device: FleetDeviceOut


class FleetRemoved(_Message, frozen=True, tag="fleet.removed"):
    """To watching admins: this tablet was revoked; it leaves the list."""

    device_id: str


class FleetAlerts(_Message, frozen=True, tag="fleet.alerts"):
    """To watching admins: the whole list of open offline alerts, after every change."""

    alerts: list[FleetAlertOut] = []


class FleetSent(_Message, frozen=True, tag="fleet.sent"):
    """To the admin who sent fleet.reload or fleet.selftest: the tablet was told."""

    device_id: str
    command: Literal["reload", "selftest"]
    run_id: str | None = None


ServerMessage = (
    Welcome
    | Pong
    | Error
    | CallIncoming
    | CallRinging
    | CallAccepted
    | CallMedia
    | CallEnded
    | CallHint
    | CallQuality
    | CallRecording
    | MediaOffer
    | MediaAnswer
    | PresenceSnapshot
    | PresenceUpdate
    | HelpQueue
    | HelpQueued
    | HelpClosed
    | CheckinReminders
    | CheckinRecorded
    | CheckinUpdate
    | EscalationQueue
    | AttentionList
    | RoomStarting
    | RoomState
    | RoomMediaMap
    | RoomLeft
    | RoomEnded
    | MediaPublishHint
    | MediaRestart
    | EchoAnswer
    | EchoStopped
    | SettingsUpdate
    | TabletReload
    | SelftestRun
    | FleetSnapshot
    | FleetDevice
    | FleetRemoved
    | FleetAlerts
    | FleetSent
)


# ---- parsing ----------------------------------------------------------------------------


class ProtocolError(Exception):
    """A frame that is not a valid client message; `code` goes into the error reply."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref


class _Envelope(msgspec.Struct):
    # Any JSON value: a wrongly typed field of a JSON object is a bad message, not bad JSON.
    type: object = None
    ref: object = None


_client_decoder = msgspec.json.Decoder(ClientMessage)
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_server_decoder = msgspec.json.Decoder(ServerMessage)
_encoder = msgspec.json.Encoder()
_KNOWN_TYPES = frozenset(t.__struct_config__.tag for t in CLIENT_MESSAGE_TYPES)


def parse_message(raw: str | bytes) -> ClientMessage:
    """Decode one client frame or raise ProtocolError with a code for the reply."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("bad_json", "frame is not UTF-8 text") from None
    try:
        message = _client_decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise _classify(raw, exc) from None
    except RecursionError:
        # msgspec gives up on very deep nesting; no valid message is nested at all.
        raise ProtocolError("bad_json", "frame is nested too deeply") from None
    if message.v != PROTOCOL_VERSION:
        raise ProtocolError(
            "unsupported_version", f"protocol version {message.v} is not supported", message.ref
        )
    return message


def _classify(raw: str | bytes, exc: msgspec.DecodeError) -> ProtocolError:
    """Tell apart 'not JSON', 'unknown type' and 'bad fields' for a useful error reply."""
    try:
        envelope = _envelope_decoder.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        return ProtocolError("bad_json", "frame is not a JSON object")
    ref = envelope.ref if isinstance(envelope.ref, str) and len(envelope.ref) <= 64 else None
    if envelope.type is None:
        return ProtocolError("bad_message", "message has no 'type'", ref)
    if not isinstance(envelope.type, str):
        return ProtocolError("bad_message", "'type' must be a string", ref)
    if envelope.type not in _KNOWN_TYPES:
        return ProtocolError("unknown_type", f"unknown message type {envelope.type[:40]!r}", ref)
    return ProtocolError("bad_message", str(exc)[:300], ref)


def dump_message(message: ServerMessage | ClientMessage) -> str:
    return _encoder.encode(message).decode()


def parse_server_message(raw: str | bytes) -> ServerMessage:
    """Used by headless clients (tablet, nurse, probe) to read what the server sends."""
    return _server_decoder.decode(raw)


def dump_client_message(message: ClientMessage) -> str:
    return _encoder.encode(message).decode()
