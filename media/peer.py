"""The server end of one participant's connection: an RTCPeerConnection of forwarding parts."""

from __future__ import annotations

import copy

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCRtpCodecCapability,
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
    sdp,
)
from aiortc.rtcdtlstransport import RTCDtlsTransport

from media import aiortc_internals
from media.aiortc_internals import PeerConnectionInternals
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


class ForwardingPeerConnection(PeerConnectionInternals):
    """An RTCPeerConnection whose transceivers forward packets instead of decoding and encoding."""

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
        transceivers = self.transceivers
        if self.connectionState == "connected" and transceivers and not self.receiving_directly:
            self.receiving_directly = install_direct_receive(transceivers[0].receiver.transport)

    # The transceiver factory's hooks (aiortc_internals.PeerConnectionInternals).

    def on_new_transport(self, dtls: RTCDtlsTransport) -> None:
        # Before any receiver configures it: media/direct_receive.py parses with its index.
        aiortc_internals.set_extensions_map(dtls, IndexedExtensionsMap())

    def make_parts(
        self, kind: str, dtls: RTCDtlsTransport
    ) -> tuple[ForwardingSender, ForwardingReceiver]:
        return ForwardingSender(kind, dtls), ForwardingReceiver(kind, dtls)

    def transceiver_direction(self, direction: str) -> str:
        # aiortc creates answerer-side transceivers "recvonly"; the participant's own
        # m-sections also carry its first remote publisher down, so they are sendrecv.
        return "sendrecv" if direction == "recvonly" else direction

    def codec_preferences(self, kind: str) -> list[RTCRtpCodecCapability]:
        return server_codec_preferences(kind)

    # The room's view of the parts (media/parts.py), shared with media/public_path.py.

    def publisher_part(self, transceiver: RTCRtpTransceiver) -> ForwardingReceiver | None:
        receiver = transceiver.receiver
        return receiver if isinstance(receiver, ForwardingReceiver) else None

    def subscriber_part(self, transceiver: RTCRtpTransceiver) -> ForwardingSender | None:
        sender = transceiver.sender
        return sender if isinstance(sender, ForwardingSender) else None

    def add_sending_transceiver(self, kind: str) -> RTCRtpTransceiver:
        return self.addTransceiver(kind, direction="sendonly")

    async def setRemoteDescription(self, sessionDescription: RTCSessionDescription) -> None:
        await super().setRemoteDescription(sessionDescription)
        for transceiver in self.getTransceivers():
            kind = transceiver.kind
            codecs, extensions = aiortc_internals.transceiver_codecs(transceiver)
            if kind not in self._session_codecs and codecs:
                self._session_codecs[kind] = copy.deepcopy(codecs)
                self._session_extensions[kind] = copy.deepcopy(extensions)

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
                aiortc_internals.set_transceiver_codecs(
                    transceiver,
                    copy.deepcopy(self._session_codecs[transceiver.kind]),
                    copy.deepcopy(self._session_extensions[transceiver.kind]),
                )
        return RTCSessionDescription(sdp=str(description), type="offer")
