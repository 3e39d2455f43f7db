"""SDP is checked for shape before aiortc's parser sees it."""

from __future__ import annotations

import pytest

from media.client_peer import ClientPeer
from media.synthetic import SyntheticVideoTrack
from signaling.sdp_guard import SdpRejected, check_sdp

HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
MEDIA = "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:abcd\r\na=fingerprint:sha-256 00:11\r\n"


async def test_a_real_webrtc_offer_passes() -> None:
    peer = ClientPeer(video=SyntheticVideoTrack(source_id=1))
    try:
        check_sdp(await peer.create_offer())
    finally:
        await peer.close()


@pytest.mark.parametrize(
    ("sdp", "reason"),
    [
        ("", "v=0"),
        ("hello\r\n" + MEDIA, "v=0"),
        (HEAD, "no media"),
        (HEAD + MEDIA.replace("a=fingerprint:sha-256 00:11\r\n", ""), "fingerprint"),
        (HEAD + MEDIA.replace("a=ice-ufrag:abcd\r\n", ""), "ICE"),
        (HEAD + MEDIA * 500, "media sections"),
        (HEAD + MEDIA + "a=x-huge:" + "A" * 100_000 + "\r\n", "longer than"),
        (HEAD + MEDIA + "garbage line\r\n", "x=..."),
        (HEAD + MEDIA + "a=x\r\n" * 5000, "lines"),
    ],
)
def test_hostile_sdp_is_refused_with_a_reason(sdp: str, reason: str) -> None:
    with pytest.raises(SdpRejected, match=reason):
        check_sdp(sdp)
