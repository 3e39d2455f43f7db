"""VP8 keyframe detection on payloads produced by the real encoder aiortc uses."""

from __future__ import annotations

import fractions

import numpy as np
from aiortc.codecs.vpx import Vp8Encoder
from av import VideoFrame

from media.vp8 import is_keyframe_start, payload_descriptor_length


def _frame(index: int) -> VideoFrame:
    image = np.full((240, 320, 3), index * 7 % 255, dtype=np.uint8)
    frame = VideoFrame.from_ndarray(image, format="bgr24")
    frame.pts = index * 3000
    frame.time_base = fractions.Fraction(1, 90_000)
    return frame


def test_keyframe_start_is_recognised_and_nothing_else() -> None:
    """Only the first packet of a keyframe may open a subscriber's gate."""
    encoder = Vp8Encoder()
    first, _ = encoder.encode(_frame(0))
    assert is_keyframe_start(first[0])
    assert not any(is_keyframe_start(payload) for payload in first[1:])

    delta, _ = encoder.encode(_frame(1))
    assert not any(is_keyframe_start(payload) for payload in delta)

    forced, _ = encoder.encode(_frame(2), force_keyframe=True)
    assert is_keyframe_start(forced[0])


def test_descriptor_lengths_and_truncated_payloads() -> None:
    """Malformed or truncated payloads are never taken for keyframes."""
    assert payload_descriptor_length(b"\x10") == 1
    # X, I with a 15-bit picture id, L, T/K.
    assert payload_descriptor_length(bytes([0x90, 0xF0, 0x80, 0x01, 0x00, 0x00])) == 6
    assert payload_descriptor_length(bytes([0x90, 0x80])) is None
    assert not is_keyframe_start(b"")
    assert not is_keyframe_start(bytes([0x10, 0x00, 0x00, 0x00]))
    # Keyframe bit clear but no start code: corrupt, not a keyframe.
    assert not is_keyframe_start(bytes([0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]))
