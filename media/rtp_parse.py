"""Fast RTP parsing for the packets publishers send to the media server.

`parse_rtp` returns what aiortc 1.16.0's `RtpPacket.parse(data, extensions_map)` returns for the
packets browsers and aiortc send (no CSRCs, one-byte header extensions), in about a third of
the time: aiortc builds a list of (id, bytes) pairs and decodes every element it knows by
URI. Anything else (CSRCs, two-byte extensions, an extension we do not decode here that is
negotiated, such as a RID) goes to aiortc's parser. tests/media/test_rtp_parse.py checks the
two against each other.
"""

from __future__ import annotations

from struct import Struct

from aiortc.rtcrtpparameters import RTCRtpParameters

from media import aiortc_internals
from media.aiortc_internals import HeaderExtensionsMap, RtpPacket

_FIXED = Struct("!BBHLL")
_EXTENSION_HEADER = Struct("!HH")
_ONE_BYTE_PROFILE = 0xBEDE

# What `parse_rtp` does with an element, by its negotiated id.
_MID, _ABS_SEND_TIME, _AUDIO_LEVEL, _OTHER = range(4)


class IndexedExtensionsMap(HeaderExtensionsMap):
    """aiortc's map, plus the negotiated ids indexed for `parse_rtp`."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[int, int] = {}

    def configure(self, parameters: RTCRtpParameters) -> None:
        super().configure(parameters)
        ids = aiortc_internals.extension_ids(self)
        # The order of aiortc's `HeaderExtensionsMap.get`: the first match wins.
        kinds: dict[int, int] = {}
        for x_id, kind in (
            (ids.mid, _MID),
            (ids.repaired_rtp_stream_id, _OTHER),
            (ids.rtp_stream_id, _OTHER),
            (ids.abs_send_time, _ABS_SEND_TIME),
            (ids.transmission_offset, _OTHER),
            (ids.audio_level, _AUDIO_LEVEL),
            (ids.transport_sequence_number, _OTHER),
        ):
            if x_id is not None:
                kinds.setdefault(x_id, kind)
        self.kinds = kinds


def parse_rtp(data: bytes | memoryview, extensions_map: IndexedExtensionsMap) -> RtpPacket:
    """`RtpPacket.parse(data, extensions_map)`, faster for the usual packets; ValueError if bad.

    `data` may be a view of a buffer that is reused afterwards (media/srtp_buffer.py): the
    packet keeps copies, never views.
    """
    if len(data) < 12:
        raise ValueError("RTP packet length is less than 12 bytes")
    first, second, sequence_number, timestamp, ssrc = _FIXED.unpack_from(data)
    # Version 2 and no CSRCs, the fast case; aiortc's parser judges everything else.
    if first & 0xCF != 0x80:
        return RtpPacket.parse(bytes(data), extensions_map)
    packet = RtpPacket(
        payload_type=second & 0x7F,
        marker=second >> 7,
        sequence_number=sequence_number,
        timestamp=timestamp,
        ssrc=ssrc,
    )
    pos = 12
    if first & 0x10:
        if len(data) < 16:
            raise ValueError("RTP packet has truncated extension profile / length")
        profile, words = _EXTENSION_HEADER.unpack_from(data, 12)
        end = 16 + 4 * words
        if len(data) < end:
            raise ValueError("RTP packet has truncated extension value")
        if profile != _ONE_BYTE_PROFILE:
            return RtpPacket.parse(bytes(data), extensions_map)
        kinds = extensions_map.kinds
        extensions = packet.extensions
        at = 16
        while at < end:
            byte = data[at]
            at += 1
            if byte == 0:  # padding
                continue
            length = (byte & 0x0F) + 1
            if at + length > end:
                raise ValueError("RTP one-byte header extension value is truncated")
            kind = kinds.get(byte >> 4)
            if kind == _ABS_SEND_TIME and length == 3:
                extensions.abs_send_time = int.from_bytes(data[at : at + 3], "big")
            elif kind == _AUDIO_LEVEL and length == 1:
                level = data[at]
                extensions.audio_level = (level & 0x80 == 0x80, level & 0x7F)
            elif kind == _MID:
                extensions.mid = bytes(data[at : at + length]).decode("utf8")
            elif kind is not None:
                # Decoded by aiortc only (or malformed, which aiortc reports its own way).
                return RtpPacket.parse(bytes(data), extensions_map)
            at += length
        pos = end
    if first & 0x20:
        padding = data[-1]
        if not padding or padding > len(data) - pos:
            raise ValueError("RTP packet padding length is invalid")
        packet.padding_size = padding
        packet.payload = bytes(data[pos:-padding])
    else:
        packet.payload = bytes(data[pos:])
    return packet
