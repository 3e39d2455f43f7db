"""Errors raised by the media package; the signaling edge maps them to wire errors."""

from __future__ import annotations


class MediaError(Exception):
    """Root of every error the media package raises on purpose."""


class InvalidSdp(MediaError):
    """An SDP offer or answer could not be parsed or negotiated (no VP8/Opus, bad syntax...)."""


class UnknownParticipant(MediaError):
    """The participant is not connected to this media room."""


class NegotiationError(MediaError):
    """An answer arrived when the server had no renegotiation offer outstanding."""


class RoomClosed(MediaError):
    """The media room (or the whole media server) has been closed."""


class CameraUnavailable(MediaError):
    """The V4L2 camera could not be opened (missing device, busy, unsupported format)."""
