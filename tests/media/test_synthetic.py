"""Synthetic sources: frame marks survive real VP8 coding at a low bitrate."""

from __future__ import annotations

import contextlib
import random

import av
import numpy as np

from media.synthetic import (
    SyntheticAudioTrack,
    SyntheticVideoTrack,
    read_frame_marks,
    read_marks,
)


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


async def test_frames_decoded_on_a_stale_reference_are_never_misread() -> None:
    """After a lost frame the decoder builds on an older picture until the next keyframe: some
    blocks show the older frame. Such a mix must read as no mark, never as a wrong counter
    (with a check word linear in the bits it read as an older frame: "out of order" in the
    meal-room tests, tests/integration/test_meal_rooms.py)."""
    rng = random.Random(7)
    track = SyntheticVideoTrack(source_id=4, fps=1000, width=160, height=120)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 160, 120, "yuv420p"
    encoder.bit_rate = 120_000
    encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    decoder = av.CodecContext.create("libvpx", "r")
    read, wrong = 0, list[tuple[int, int]]()
    for sent in range(200):
        frame = await track.recv()
        for packet in encoder.encode(frame):
            if sent > 5 and rng.random() < 0.03:
                continue  # lost on the way and never recovered
            with contextlib.suppress(av.FFmpegError):
                for out in decoder.decode(packet):
                    marks = (read_frame_marks(out), read_marks(out.to_ndarray(format="gray")))
                    read += marks[0] is not None
                    wrong += [(sent, m[1]) for m in marks if m is not None and m != (4, sent)]
    track.stop()
    assert read >= 30
    assert not wrong, f"(sent, read) {wrong[:5]}"
