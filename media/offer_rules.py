"""What an offer must hold for this media server to answer it, checked before aiortc sees it.

aiortc negotiates whatever it is given and fails deep inside `createAnswer` (or later, in
`close()`) on an offer it cannot answer: a BUNDLE group naming a section that is not there,
a missing m-line, no codec in common. The rules below say, as data, what the server answers:
at most one bundled audio and one bundled video section over DTLS-SRTP, each offering the one codec
the server forwards for its kind. signaling/sdp_guard.py has already checked the size and
line structure; this module knows what the media server can do.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from media.errors import InvalidSdp

PROTO = "UDP/TLS/RTP/SAVPF"
SETUP_ROLES = frozenset({"actpass", "active", "passive"})
# Tabs and line ends are SDP's own; any other control character is corruption.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class MediaRule:
    """A kind of media the server answers, and the codec it forwards for that kind."""

    kind: str
    codec: str  # rtpmap encoding name and clock rate, lower case


# The server forwards packets without transcoding (media/peer.py): Opus and VP8 only.
ANSWERED_MEDIA = (MediaRule("audio", "opus/48000"), MediaRule("video", "vp8/90000"))


@dataclass(frozen=True)
class Section:
    """One m-section: its m-line and its a= attributes, in order."""

    kind: str
    port: str
    proto: str
    formats: tuple[str, ...]
    attributes: tuple[tuple[str, str], ...]

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.attributes if key == name]

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.attributes)


@dataclass(frozen=True)
class Offer:
    session: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]

    def session_values(self, name: str) -> list[str]:
        return [value for key, value in self.session if key == name]

    def either(self, section: Section, name: str) -> list[str]:
        """An attribute of the section, or of the session when the section has none."""
        return section.values(name) or self.session_values(name)


def parse_offer(text: str) -> Offer:
    """Split an SDP into its session attributes and m-sections (no validation beyond that)."""
    session: list[tuple[str, str]] = []
    sections: list[Section] = []
    current: tuple[list[str], list[tuple[str, str]]] | None = None

    def close_section() -> None:
        if current is not None:
            words, attributes = current
            kind, port, proto, *formats = words + [""] * (3 - min(len(words), 3))
            sections.append(Section(kind, port, proto, tuple(formats), tuple(attributes)))

    for line in text.splitlines():
        if line.startswith("m="):
            close_section()
            current = (line[2:].split(), [])
        elif line.startswith("a="):
            key, _, value = line[2:].partition(":")
            (current[1] if current is not None else session).append((key, value.strip()))
    close_section()
    return Offer(tuple(session), tuple(sections))


def _codec(section: Section, codec: str) -> bool:
    for rtpmap in section.values("rtpmap"):
        payload_type, _, encoding = rtpmap.partition(" ")
        name_rate = "/".join(encoding.lower().split("/")[:2])
        if name_rate == codec and payload_type in section.formats:
            return True
    return False


def _text(text: str, offer: Offer) -> str | None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "the offer is not valid UTF-8 (it holds a lone surrogate)"
    if _CONTROL.search(text):
        return "the offer holds a control character"
    return None


def _media_kinds(text: str, offer: Offer) -> str | None:
    answered = {rule.kind for rule in ANSWERED_MEDIA}
    for section in offer.sections:
        if section.kind not in answered:
            return f"the media server answers only audio and video, not {section.kind[:20]!r}"
    if not offer.sections:
        return "the offer has no media section"
    # One of each at most: a participant has one camera and one microphone. One alone is
    # fine: the kiosk's self-test echoes its camera without a microphone section.
    for rule in ANSWERED_MEDIA:
        count = sum(1 for s in offer.sections if s.kind == rule.kind)
        if count > 1:
            return f"the offer may hold one {rule.kind} section, it has {count}"
    return None


def _section_shape(text: str, offer: Offer) -> str | None:
    for section in offer.sections:
        kind = section.kind
        if section.proto != PROTO:
            return f"the {kind} section must use {PROTO}"
        if not section.port.isdigit() or int(section.port) > 65535:
            return f"the {kind} section has no valid port"
        if int(section.port) == 0 and not section.has("bundle-only"):
            return f"the {kind} section is rejected (port 0)"
        if not section.formats or not all(f.isdigit() and int(f) < 128 for f in section.formats):
            return f"the {kind} section lists invalid payload types"
        if not section.has("rtcp-mux"):
            return f"the {kind} section must multiplex RTCP (a=rtcp-mux)"
    return None


def _codecs(text: str, offer: Offer) -> str | None:
    for rule in ANSWERED_MEDIA:
        for section in offer.sections:
            if section.kind == rule.kind and not _codec(section, rule.codec):
                return f"the {rule.kind} section does not offer {rule.codec.split('/')[0]}"
    return None


def _transport(text: str, offer: Offer) -> str | None:
    for section in offer.sections:
        kind = section.kind
        if not offer.either(section, "ice-ufrag") or not offer.either(section, "ice-pwd"):
            return f"the {kind} section has no ICE credentials"
        if not offer.either(section, "fingerprint"):
            return f"the {kind} section has no DTLS fingerprint"
        setup = offer.either(section, "setup")
        if len(setup) != 1 or setup[0] not in SETUP_ROLES:
            return f"the {kind} section needs one a=setup of actpass, active or passive"
    return None


def _bundle(text: str, offer: Offer) -> str | None:
    mids: list[str] = []
    for section in offer.sections:
        values = section.values("mid")
        if len(values) != 1 or not values[0]:
            return f"the {section.kind} section needs exactly one a=mid"
        mids.append(values[0])
    if len(set(mids)) != len(mids):
        return "two sections have the same mid"
    groups = [v.split()[1:] for v in offer.session_values("group") if v.split()[:1] == ["BUNDLE"]]
    if len(groups) != 1:
        return "the offer needs one BUNDLE group (the server bundles all media)"
    if sorted(groups[0]) != sorted(mids):
        return "the BUNDLE group must name every section's mid, each once"
    return None


# Checked in order; the first rule that fails names the reason in the invalid_sdp error.
OFFER_RULES: Sequence[Callable[[str, Offer], str | None]] = (
    _text,
    _media_kinds,
    _section_shape,
    _codecs,
    _transport,
    _bundle,
)


def check_offer(text: str) -> None:
    """Raise InvalidSdp unless this media server can answer the offer."""
    offer = parse_offer(text)
    for rule in OFFER_RULES:
        reason = rule(text, offer)
        if reason is not None:
            raise InvalidSdp(reason)
