"""parse_rtp against aiortc's RtpPacket.parse: the same packet, or the same refusal."""

from __future__ import annotations

import os
import random
import struct

import pytest
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media.rtp_parse import IndexedExtensionsMap, parse_rtp
from tests.media.negotiation import random_extensions

_URIS = (
    "urn:ietf:params:rtp-hdrext:sdes:mid",
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "urn:ietf:params:rtp-hdrext:toffset",
    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
)


def _negotiated(rng: random.Random) -> RTCRtpSendParameters:
    return RTCRtpSendParameters(
        headerExtensions=random_extensions(rng, _URIS, present=0.7, one_byte=0.9)
    )


def _packet(rng: random.Random) -> RtpPacket:
    packet = RtpPacket(
        payload_type=rng.choice((96, 97, 111, 127)),
        marker=rng.randint(0, 1),
        sequence_number=rng.randrange(1 << 16),
        timestamp=rng.randrange(1 << 32),
        ssrc=rng.randrange(1 << 32),
        payload=os.urandom(rng.choice((0, 1, 30, 1100))),
    )
    if rng.random() < 0.05:
        packet.csrc = [rng.randrange(1 << 32)]
    if rng.random() < 0.1:
        packet.padding_size = rng.randint(1, 255)
    extensions = packet.extensions
    if rng.random() < 0.8:
        extensions.mid = rng.choice(("0", "1", "12", "video-slot-3"))
    if rng.random() < 0.8:
        extensions.abs_send_time = rng.randrange(1 << 24)
    if rng.random() < 0.5:
        extensions.audio_level = (rng.random() < 0.5, rng.randrange(128))
    if rng.random() < 0.2:
        extensions.transmission_offset = rng.randrange(-(1 << 23), 1 << 23)
    if rng.random() < 0.1:
        extensions.rtp_stream_id = "hi"
    return packet


def _fields(packet: RtpPacket) -> tuple[object, ...]:
    return (
        packet.version,
        packet.marker,
        packet.payload_type,
        packet.sequence_number,
        packet.timestamp,
        packet.ssrc,
        packet.csrc,
        packet.extensions,
        packet.payload,
        packet.padding_size,
    )


def _outcome(parse: object, data: bytes, extensions_map: HeaderExtensionsMap) -> object:
    try:
        return _fields(parse(data, extensions_map))  # type: ignore[operator]
    except (ValueError, struct.error) as exc:
        return type(exc)


def _configured(
    parameters: RTCRtpSendParameters, map_type: type[HeaderExtensionsMap] = HeaderExtensionsMap
) -> HeaderExtensionsMap:
    extensions_map = map_type()
    extensions_map.configure(parameters)
    return extensions_map


@pytest.mark.parametrize("seed", range(20))
def test_parses_what_aiortc_parses(seed: int) -> None:
    rng = random.Random(seed)
    sender_parameters = _negotiated(rng)
    sender_map = _configured(sender_parameters)
    # The receiver may have negotiated a different set: unknown ids are ignored by both.
    receiver_parameters = sender_parameters if rng.random() < 0.7 else _negotiated(rng)
    indexed = _configured(receiver_parameters, IndexedExtensionsMap)
    plain = _configured(receiver_parameters)
    for _ in range(200):
        data = _packet(rng).serialize(sender_map)
        assert _outcome(parse_rtp, data, indexed) == _outcome(RtpPacket.parse, data, plain)


@pytest.mark.parametrize("seed", range(5))
def test_refuses_what_aiortc_refuses(seed: int) -> None:
    """Truncated and corrupted packets: an error (never another exception) where aiortc errs."""
    rng = random.Random(seed)
    parameters = _negotiated(rng)
    sender_map, plain = _configured(parameters), _configured(parameters)
    indexed = _configured(parameters, IndexedExtensionsMap)
    for _ in range(300):
        data = bytearray(_packet(rng).serialize(sender_map))
        if rng.random() < 0.5:
            del data[rng.randrange(len(data)) :]
        else:
            data[rng.randrange(len(data))] = rng.randrange(256)
        ours = _outcome(parse_rtp, bytes(data), indexed)
        theirs = _outcome(RtpPacket.parse, bytes(data), plain)
        if isinstance(theirs, tuple):
            assert ours == theirs
        else:
            assert isinstance(ours, type) and issubclass(ours, (ValueError, struct.error))
