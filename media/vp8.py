"""VP8 RTP payload inspection (RFC 7741) needed to open a subscriber's gate on a keyframe."""

from __future__ import annotations

# The 3-byte start code every VP8 keyframe header carries after its 3-byte frame tag (RFC 6386 9.1).
_KEYFRAME_START_CODE = b"\x9d\x01\x2a"


def payload_descriptor_length(payload: bytes) -> int | None:
    """Length of the VP8 payload descriptor at the start of `payload`, or None if truncated."""
    if not payload:
        return None
    first = payload[0]
    length = 1
    if first & 0x80:  # X: extended control bits present
        if len(payload) < 2:
            return None
        extended = payload[1]
        length = 2
        if extended & 0x80:  # I: PictureID, 7 or 15 bits (M flag)
            if len(payload) <= length:
                return None
            length += 2 if payload[length] & 0x80 else 1
        if extended & 0x40:  # L: TL0PICIDX
            length += 1
        if extended & 0x30:  # T or K: one shared TID/Y/KEYIDX octet
            length += 1
    return length if length <= len(payload) else None


def is_keyframe_start(payload: bytes) -> bool:
    """True if this RTP payload is the first packet of a VP8 keyframe.

    That is the start of partition 0 (S=1, PID=0) whose frame tag has P=0 (keyframe).  The
    start code is checked as well, so that a corrupt packet cannot open a gate on garbage.
    """
    if not payload:
        return False
    first = payload[0]
    if not first & 0x10 or first & 0x0F:
        return False
    offset = payload_descriptor_length(payload)
    if offset is None or len(payload) < offset + 6:
        return False
    if payload[offset] & 0x01:
        return False
    return payload[offset + 3 : offset + 6] == _KEYFRAME_START_CODE
