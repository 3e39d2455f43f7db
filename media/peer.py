"""The server end of one participant's connection: an RTCPeerConnection of forwarding parts."""

from __future__ import annotations

import copy
from collections.abc import Callable

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpCodecCapability,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    sdp,
)
from aiortc.exceptions import InternalError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcsctptransport import RTCSctpTransport

from media.direct_receive import install_direct_receive
from media.forwarding import ForwardingReceiver, ForwardingSender
from media.rtp_parse import IndexedExtensionsMap

# Publisher and subscriber must speak the same codec: the server forwards packets and cannot
# translate.  VP8 is the one video codec every browser and aiortc encode; RTX lets subscribers
# recover losses from the server's history.
_VIDEO_CODECS = ("video/vp8", "video/rtx")
_AUDIO_CODECS = ("audio/opus",)


def server_codec_preferences(kind: str) -> list[RTCRtpCodecCapability]:
    """The codecs the server negotiates for `kind`, in aiortc capability form."""
    wanted = _VIDEO_CODECS if kind == "video" else _AUDIO_CODECS
    return [
        codec
        for codec in RTCRtpSender.getCapabilities(kind).codecs
        if codec.mimeType.lower() in wanted
    ]


class ForwardingPeerConnection(RTCPeerConnection):
    """An RTCPeerConnection whose transceivers forward packets instead of decoding and encoding."""

    # aiortc 1.16.0 name-mangled RTCPeerConnection state used by the transceiver factory below;
    # see docs/media.md.
    _RTCPeerConnection__transceivers: list[RTCRtpTransceiver]
    _RTCPeerConnection__sctp: RTCSctpTransport | None
    _RTCPeerConnection__stream_id: str
    _RTCPeerConnection__createDtlsTransport: Callable[[], RTCDtlsTransport]

    def __init__(self, configuration: RTCConfiguration) -> None:
        # The transceiver factory below only implements max-bundle: one ICE/DTLS transport.
        if configuration.bundlePolicy != RTCBundlePolicy.MAX_BUNDLE:
            raise ValueError("the media server peer connection requires max-bundle")
        super().__init__(configuration)
        # The payload types and header-extension ids the participant chose in its first offer.
        # Every later m-section reuses them: bundled m-sections must not give one payload type
        # two meanings (Chromium rejects such an offer), and the forwarding senders write the
        # negotiated ids.
        self._session_codecs: dict[str, list[RTCRtpCodecParameters]] = {}
        self._session_extensions: dict[str, list[RTCRtpHeaderExtensionParameters]] = {}
        self.receiving_directly = False
        self.on("connectionstatechange", self._receive_directly_once_connected)

    def _receive_directly_once_connected(self) -> None:
        # max-bundle: the first transceiver's DTLS transport carries every m-section.
        transceivers = self._RTCPeerConnection__transceivers
        if self.connectionState == "connected" and transceivers and not self.receiving_directly:
            self.receiving_directly = install_direct_receive(transceivers[0].receiver.transport)

    def _RTCPeerConnection__createTransceiver(
        self,
        direction: str,
        kind: str,
        sender_track: object | None = None,
    ) -> RTCRtpTransceiver:
        # Replaces RTCPeerConnection.__createTransceiver, the single place aiortc constructs
        # RTCRtpSender/RTCRtpReceiver, both for addTransceiver() and for m-sections created
        # inside setRemoteDescription() when we answer.
        if sender_track is not None:
            raise InternalError("the media server forwards packets; it sends no local tracks")
        transceivers = self._RTCPeerConnection__transceivers
        sctp = self._RTCPeerConnection__sctp
        if transceivers:
            dtls_transport = transceivers[0].receiver.transport
            bundled = True
        elif sctp is not None:
            dtls_transport = sctp.transport
            bundled = True
        else:
            dtls_transport = self._RTCPeerConnection__createDtlsTransport()
            # Before any receiver configures it: media/direct_receive.py parses with its index.
            dtls_transport._rtp_header_extensions_map = IndexedExtensionsMap()
            bundled = False

        # aiortc creates answerer-side transceivers "recvonly"; the participant's own
        # m-sections also carry its first remote publisher down, so they are sendrecv.
        if direction == "recvonly":
            direction = "sendrecv"

        transceiver = RTCRtpTransceiver(
            direction=direction,
            kind=kind,
            sender=ForwardingSender(kind, dtls_transport),
            receiver=ForwardingReceiver(kind, dtls_transport),
        )
        transceiver.receiver._set_rtcp_ssrc(transceiver.sender._ssrc)
        transceiver.sender._stream_id = self._RTCPeerConnection__stream_id
        transceiver._bundled = bundled
        # Set here rather than through setCodecPreferences() afterwards: on the answerer the
        # codecs are negotiated inside setRemoteDescription(), right after this returns.
        transceiver._preferred_codecs = server_codec_preferences(kind)
        transceivers.append(transceiver)
        return transceiver

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        await super().setRemoteDescription(sessionDescription)
        for transceiver in self.getTransceivers():
            kind = transceiver.kind
            if kind not in self._session_codecs and transceiver._codecs:
                self._session_codecs[kind] = copy.deepcopy(transceiver._codecs)
                self._session_extensions[kind] = copy.deepcopy(transceiver._headerExtensions)

    async def createOffer(self) -> RTCSessionDescription:
        # aiortc's createOffer() resets every transceiver to its default payload types (Opus
        # 96, VP8 97) and extension ids; put the session's negotiated ones back.
        offer = await super().createOffer()
        if not self._session_codecs:
            return offer
        description = sdp.SessionDescription.parse(offer.sdp)
        for media in description.media:
            codecs = self._session_codecs.get(media.kind)
            if codecs is None:
                continue
            media.rtp.codecs = copy.deepcopy(codecs)
            media.fmt = [codec.payloadType for codec in codecs]
            media.rtp.headerExtensions = copy.deepcopy(self._session_extensions[media.kind])
        for transceiver in self.getTransceivers():
            if transceiver.kind in self._session_codecs:
                transceiver._codecs = copy.deepcopy(self._session_codecs[transceiver.kind])
                transceiver._headerExtensions = copy.deepcopy(
                    self._session_extensions[transceiver.kind]
                )
        return RTCSessionDescription(sdp=str(description), type="offer")
