"""Synthetic sources: frame marks survive real VP8 coding at a low bitrate."""

from __future__ import annotations

import av
import numpy as np

from media.synthetic import SyntheticAudioTrack, SyntheticVideoTrack, read_marks


async def test_marks_survive_vp8_at_low_bitrate() -> None:
    """Receivers identify source and frame number after lossy encoding and decoding."""
    track = SyntheticVideoTrack(source_id=0xBEEF, fps=1000, width=320, height=240)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.bit_rate = 150_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = []
    for _ in range(30):
        frame = await track.recv()
        for packet in encoder.encode(frame):
            for out in decoder.decode(packet):
                decoded.append(read_marks(out.to_ndarray(format="gray")))
    track.stop()
    assert len(decoded) >= 25
    assert all(mark is not None and mark[0] == 0xBEEF for mark in decoded)
    counters = [mark[1] for mark in decoded if mark is not None]
    assert counters == sorted(counters) and counters[0] <= 1


async def test_black_frames_and_foreign_images_carry_no_marks() -> None:
    track = SyntheticVideoTrack(source_id=1, width=160, height=120, black=True)
    frame = await track.recv()
    assert read_marks(frame.to_ndarray(format="gray")) is None
    assert read_marks(np.random.default_rng(1).integers(0, 255, (120, 160), np.uint8)) is None
    track.stop()


async def test_audio_track_produces_20ms_frames() -> None:
    track = SyntheticAudioTrack()
    first = await track.recv()
    second = await track.recv()
    assert (first.samples, first.sample_rate) == (960, 48_000)
    assert second.pts == 960
    track.stop()
