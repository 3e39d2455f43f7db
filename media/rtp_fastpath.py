"""Fast RTP serialization for forwarded packets.

`RtpHeaderWriter` produces the same bytes as aiortc 1.16.0's
`RtpPacket.serialize(HeaderExtensionsMap)` for the packets a `ForwardingSender` sends (no CSRCs;
header extensions mid, abs-send-time and audio level), without building an `RtpPacket` and
a `HeaderExtensions` per packet: the header and extension block are laid out once per sender,
and only the marker, sequence number, timestamp, abs-send-time and audio level are patched in.
`write_header` patches them into a caller's buffer (the forwarding path's SRTP buffer,
media/srtp_buffer.py), so that a copy is built where it is protected.
tests/media/test_rtp_fastpath.py checks it byte for byte against aiortc.
"""

from __future__ import annotations

import os
from struct import Struct

from aiortc.rtcrtpparameters import RTCRtpParameters
from aiortc.rtp import pack_header_extensions

_URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
_URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

# Byte 1 (marker, payload type), sequence number and timestamp, written after byte 0.
_SEQ_TS = Struct("!BHL")
_U32 = Struct("!L")


def extension_ids(parameters: RTCRtpParameters) -> tuple[int, int, int]:
    """(mid, abs-send-time, audio-level) ids as aiortc's `HeaderExtensionsMap.configure` sees them.

    0 means not negotiated.  Like `configure` on a fresh map, the last id given for a URI wins.
    """
    mid = abs_send_time = audio_level = 0
    for ext in parameters.headerExtensions:
        if ext.uri == _URI_MID:
            mid = ext.id
        elif ext.uri == _URI_ABS_SEND_TIME:
            abs_send_time = ext.id
        elif ext.uri == _URI_AUDIO_LEVEL:
            audio_level = ext.id
    return mid, abs_send_time, audio_level


class _Layout:
    """Header + extension block template for one set of present extensions."""

    __slots__ = ("abs_offset", "abs_prefix", "audio_level_offset", "template")

    def __init__(
        self,
        ssrc: int,
        mid: bytes | None,
        ids: tuple[int, int, int],
        with_audio_level: bool,
    ) -> None:
        mid_id, abs_id, audio_level_id = ids
        # The same order as aiortc's `HeaderExtensionsMap.set`; placeholders for the values
        # that change per packet.
        elements: list[tuple[int, bytes]] = []
        if mid is not None and mid_id:
            elements.append((mid_id, mid))
        abs_index = len(elements)
        if abs_id:
            elements.append((abs_id, b"\x00\x00\x00"))
        level_index = len(elements)
        if with_audio_level and audio_level_id:
            elements.append((audio_level_id, b"\x00"))
        profile, value = pack_header_extensions(elements)
        one_byte = profile == 0xBEDE
        # Offsets of the per-packet values inside the extension value.
        offsets: list[int] = []
        position = 0
        for _x_id, x_value in elements:
            position += 1 if one_byte else 2
            offsets.append(position)
            position += len(x_value)

        header = bytearray(12)
        header[0] = 0x80 | (0x10 if value else 0)
        _U32.pack_into(header, 8, ssrc)
        if value:
            header += _U32.pack((profile << 16) | (len(value) >> 2))
            header += value
        self.template = bytes(header)
        base = 16
        # abs-send-time is patched as one 32-bit word together with the byte before it (the
        # element's id/length byte, constant), so that a single pack_into writes it.
        if abs_id:
            self.abs_offset = base + offsets[abs_index] - 1
            self.abs_prefix = self.template[self.abs_offset] << 24
        else:
            self.abs_offset = -1
            self.abs_prefix = 0
        if with_audio_level and audio_level_id:
            self.audio_level_offset = base + offsets[level_index]
        else:
            self.audio_level_offset = -1


class RtpHeaderWriter:
    """Serializes one outgoing stream's packets (fixed SSRC, payload type, mid, extension ids)."""

    __slots__ = ("_payload_type", "_plain", "_with_level")

    def __init__(
        self,
        *,
        payload_type: int,
        ssrc: int,
        mid: str | None,
        ids: tuple[int, int, int],
    ) -> None:
        self._payload_type = payload_type
        mid_bytes = mid.encode("utf8") if mid is not None else None
        self._plain = _Layout(ssrc, mid_bytes, ids, with_audio_level=False)
        self._with_level = _Layout(ssrc, mid_bytes, ids, with_audio_level=True)

    def write_header(
        self,
        buffer: bytearray | memoryview,
        marker: int,
        sequence_number: int,
        timestamp: int,
        abs_send_time: int,
        audio_level: tuple[bool, int] | None,
    ) -> int:
        """Write the packet's header (padding bit clear) at the start of `buffer`; its length.

        Positional arguments: this runs once per forwarded copy.
        """
        layout = self._plain if audio_level is None else self._with_level
        template = layout.template
        size = len(template)
        buffer[:size] = template
        _SEQ_TS.pack_into(buffer, 1, (marker << 7) | self._payload_type, sequence_number, timestamp)
        if layout.abs_offset >= 0:
            _U32.pack_into(
                buffer, layout.abs_offset, layout.abs_prefix | (abs_send_time & 0xFFFFFF)
            )
        if layout.audio_level_offset >= 0 and audio_level is not None:
            buffer[layout.audio_level_offset] = (0x80 if audio_level[0] else 0) | (
                audio_level[1] & 0x7F
            )
        return size

    def serialize(
        self,
        *,
        marker: int,
        sequence_number: int,
        timestamp: int,
        payload: bytes,
        abs_send_time: int,
        audio_level: tuple[bool, int] | None = None,
        padding_size: int = 0,
    ) -> bytes:
        """The bytes of `RtpPacket.serialize` for this packet (padding bytes are random)."""
        buf = bytearray()
        self.write_header(buf, marker, sequence_number, timestamp, abs_send_time, audio_level)
        if padding_size > 0:
            buf[0] |= 0x20
            buf += payload
            buf += os.urandom(padding_size - 1)
            buf.append(padding_size)
            return bytes(buf)
        return bytes(buf) + payload
