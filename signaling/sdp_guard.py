"""Cheap structural checks on SDP before aiortc parses it.

Media servers have crashed on malformed SDP (Janus CVE-2020-13901, mediasoup fuzzing
findings); aiortc's parser is not built to face hostile input, so anything odd is refused here
with a reason, before it reaches the parser.
"""

from __future__ import annotations

MAX_MEDIA_SECTIONS = 64  # a 13-person room needs 2 + 12 x 2 = 26; leave room, stop abuse
MAX_LINE_LENGTH = 2048
MAX_LINES = 4000


class SdpRejected(ValueError):
    """The SDP fails a structural check; the message names which."""


def check_sdp(sdp: str) -> None:
    """Raise SdpRejected unless the SDP looks like a WebRTC offer/answer we can take."""
    if not sdp.startswith("v=0"):
        raise SdpRejected("SDP must start with v=0")
    lines = sdp.splitlines()
    if len(lines) > MAX_LINES:
        raise SdpRejected(f"SDP has more than {MAX_LINES} lines")
    media_sections = 0
    fingerprint = ufrag = False
    for line in lines:
        if len(line) > MAX_LINE_LENGTH:
            raise SdpRejected(f"an SDP line is longer than {MAX_LINE_LENGTH} characters")
        if line and (len(line) < 2 or line[1] != "=" or not line[0].isalpha()):
            raise SdpRejected("an SDP line is not of the form x=...")
        if line.startswith("m="):
            media_sections += 1
            if media_sections > MAX_MEDIA_SECTIONS:
                raise SdpRejected(f"SDP has more than {MAX_MEDIA_SECTIONS} media sections")
        elif line.startswith("a=fingerprint:"):
            fingerprint = True
        elif line.startswith("a=ice-ufrag:"):
            ufrag = True
    if media_sections == 0:
        raise SdpRejected("SDP has no media section")
    if not fingerprint:
        raise SdpRejected("SDP has no DTLS fingerprint (a=fingerprint)")
    if not ufrag:
        raise SdpRejected("SDP has no ICE credentials (a=ice-ufrag)")
