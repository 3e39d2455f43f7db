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


class HelpRequestMsg(_Message, frozen=True, tag="help.request"):
    pass


class HelpCancel(_Message, frozen=True, tag="help.cancel"):
    pass


class HelpTake(_Message, frozen=True, tag="help.take"):
    help_id: Id


ClientMessage = (
    Hello
    | Ping
    | CallStart
    | CallAnswer
    | CallDecline
    | CallEnd
    | MediaOffer
    | MediaAnswer
    | HelpRequestMsg
    | HelpCancel
    | HelpTake
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
    HelpRequestMsg,
    HelpCancel,
    HelpTake,
)


# ---- server -> client -------------------------------------------------------------------


class ClientSettingsOut(msgspec.Struct, frozen=True):
    language: str
    auto_answer: bool
    auto_answer_after_s: int


class IceServerOut(msgspec.Struct, frozen=True, omit_defaults=True):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class Welcome(_Message, frozen=True, tag="welcome"):
    protocol: int
    role: str
    subject_id: str
    display_name: str
    heartbeat_s: int
    settings: ClientSettingsOut | None = None
    # Pass these to RTCPeerConnection as they are; never add a default STUN server.
    ice_servers: list[IceServerOut] = []


class Pong(_Message, frozen=True, tag="pong"):
    pass


class Error(_Message, frozen=True, tag="error"):
    code: str
    message: str


class CallIncoming(_Message, frozen=True, tag="call.incoming"):
    call_id: str
    caller_name: str
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


ServerMessage = (
    Welcome
    | Pong
    | Error
    | CallIncoming
    | CallRinging
    | CallAccepted
    | CallMedia
    | CallEnded
    | MediaOffer
    | MediaAnswer
    | PresenceSnapshot
    | PresenceUpdate
    | HelpQueue
    | HelpQueued
    | HelpClosed
)


# ---- parsing ----------------------------------------------------------------------------


class ProtocolError(Exception):
    """A frame that is not a valid client message; `code` goes into the error reply."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.ref = ref


class _Envelope(msgspec.Struct):
    type: str | None = None
    v: int | None = None
    ref: str | None = None


_client_decoder = msgspec.json.Decoder(ClientMessage)
_envelope_decoder = msgspec.json.Decoder(_Envelope)
_server_decoder = msgspec.json.Decoder(ServerMessage)
_encoder = msgspec.json.Encoder()
_KNOWN_TYPES = frozenset(t.__struct_config__.tag for t in CLIENT_MESSAGE_TYPES)


def parse_message(raw: str | bytes) -> ClientMessage:
    """Decode one client frame or raise ProtocolError with a code for the reply."""
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
