"""ForwardingPeerConnection: pinned codecs and renegotiation offers that keep the session's PTs."""

from __future__ import annotations

from aiortc import RTCSessionDescription, sdp

from media.client_peer import ClientPeer
from media.forwarding import ForwardingReceiver, ForwardingSender
from media.ice import to_rtc_configuration
from media.peer import ForwardingPeerConnection

# Chromium's usual numbering, unlike aiortc's defaults (Opus 96, VP8 97, RTX 98).
BROWSER_PTS = {"opus": 111, "VP8": 96, "rtx": 97}


async def _browser_like_offer() -> str:
    """A real aiortc offer renumbered the way a browser numbers its payload types."""
    peer = ClientPeer(video=None, audio=False)
    try:
        description = sdp.SessionDescription.parse(await peer.create_offer())
    finally:
        await peer.close()
    for media in description.media:
        renumber = {
            c.payloadType: BROWSER_PTS[c.name] for c in media.rtp.codecs if c.name in BROWSER_PTS
        }
        media.rtp.codecs = [c for c in media.rtp.codecs if c.payloadType in renumber]
        for codec in media.rtp.codecs:
            codec.payloadType = renumber[codec.payloadType]
            apt = codec.parameters.get("apt")
            if isinstance(apt, int):
                codec.parameters["apt"] = renumber[apt]
        media.fmt = [c.payloadType for c in media.rtp.codecs]
    return str(description)


async def test_answerer_builds_forwarding_transceivers_with_pinned_codecs() -> None:
    """Transceivers created inside setRemoteDescription forward, and negotiate VP8/Opus only."""
    pc = ForwardingPeerConnection(to_rtc_configuration([]))
    try:
        await pc.setRemoteDescription(
            RTCSessionDescription(sdp=await _browser_like_offer(), type="offer")
        )
        answer = sdp.SessionDescription.parse((await pc.createAnswer()).sdp)
        for transceiver in pc.getTransceivers():
            assert isinstance(transceiver.sender, ForwardingSender)
            assert isinstance(transceiver.receiver, ForwardingReceiver)
            assert transceiver.direction == "sendrecv"
        names = {m.kind: [(c.name, c.payloadType) for c in m.rtp.codecs] for m in answer.media}
        assert names == {"audio": [("opus", 111)], "video": [("VP8", 96), ("rtx", 97)]}
    finally:
        await pc.close()


async def test_renegotiation_offer_reuses_the_participants_payload_types() -> None:
    """New m-sections must not give a bundled payload type a second meaning (Chromium rejects)."""
    offer = await _browser_like_offer()
    pc = ForwardingPeerConnection(to_rtc_configuration([]))
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        pc.addTransceiver("audio", direction="sendonly")
        pc.addTransceiver("video", direction="sendonly")
        reoffer = sdp.SessionDescription.parse((await pc.createOffer()).sdp)
    finally:
        await pc.close()

    offered_extensions = {
        m.kind: {(e.uri, e.id) for e in m.rtp.headerExtensions}
        for m in sdp.SessionDescription.parse(offer).media
    }
    assert [m.kind for m in reoffer.media] == ["audio", "video", "audio", "video"]
    meaning: dict[int, str] = {}
    for media in reoffer.media:
        for codec in media.rtp.codecs:
            assert codec.payloadType is not None
            assert meaning.setdefault(codec.payloadType, codec.name) == codec.name
            assert BROWSER_PTS[codec.name] == codec.payloadType
        assert media.fmt == [c.payloadType for c in media.rtp.codecs]
        assert {(e.uri, e.id) for e in media.rtp.headerExtensions} <= offered_extensions[media.kind]
