"""Small pieces of media insight: VP8 frame reassembly, sealed files, quality grades."""

from __future__ import annotations

import fractions
import os
import random
from pathlib import Path

import av
import numpy as np
import pytest
from aiortc.rtp import RtpPacket

from media.analysis import EncodedFrame, Vp8FrameAssembler
from media.quality import QualityLimits, grade
from media.recording import SealedFileError, open_sealed, seal_file


def _keyframe() -> bytes:
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.time_base = fractions.Fraction(1, 90_000)
    image = np.random.default_rng(3).integers(0, 255, (360, 320), dtype=np.uint8)
    frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
    frame.pts = 0
    packets = list(encoder.encode(frame)) + list(encoder.encode(None))
    return bytes(packets[0])


def _packets(data: bytes, first_seq: int, timestamp: int, size: int = 300) -> list[RtpPacket]:
    chunks = [data[i : i + size] for i in range(0, len(data), size)]
    packets = []
    for n, chunk in enumerate(chunks):
        descriptor = b"\x10" if n == 0 else b"\x00"  # S=1 on the first, partition 0
        packets.append(
            RtpPacket(
                payload_type=96,
                marker=n == len(chunks) - 1,
                sequence_number=(first_seq + n) % 65536,
                timestamp=timestamp,
                payload=descriptor + chunk,
            )
        )
    return packets


def test_frames_are_reassembled_in_any_order_with_duplicates_and_wrap() -> None:
    keyframe = _keyframe()
    frames: list[EncodedFrame] = []
    assembler = Vp8FrameAssembler(frames.append)
    packets = _packets(keyframe, 65530, 1000)  # sequence numbers wrap inside the frame
    assert len(packets) > 3
    shuffled = packets + packets[:2]  # retransmissions of packets that also arrived
    random.Random(5).shuffle(shuffled)
    for packet in shuffled:
        assembler.push(packet, 1.0)
    assert len(frames) == 1
    assert frames[0].data == keyframe and frames[0].keyframe and frames[0].timestamp == 1000


def test_a_frame_with_a_hole_is_never_emitted_and_does_not_block_the_next() -> None:
    keyframe = _keyframe()
    frames: list[EncodedFrame] = []
    assembler = Vp8FrameAssembler(frames.append)
    first = _packets(keyframe, 100, 1000)
    del first[1]
    for packet in first:
        assembler.push(packet, 1.0)
    assert frames == []
    for packet in _packets(keyframe, 100 + len(first) + 1, 4000):
        assembler.push(packet, 1.1)
    assert [f.timestamp for f in frames] == [4000]
    # A late packet of the abandoned, older frame is ignored.
    assembler.push(_packets(keyframe, 100, 1000)[1], 1.2)
    assert len(frames) == 1


def test_sealed_file_round_trip_and_tampering(tmp_path: Path) -> None:
    key = os.urandom(32)
    plain = tmp_path / "plain.webm"
    data = os.urandom(2 * 1024 * 1024 + 12345)  # three chunks
    plain.write_bytes(data)
    sealed = tmp_path / "sealed"
    seal_file(plain, sealed, key)
    assert open_sealed(sealed, key) == data
    assert data[:64] not in sealed.read_bytes()

    with pytest.raises(SealedFileError):
        open_sealed(sealed, os.urandom(32))
    raw = bytearray(sealed.read_bytes())
    raw[len(raw) // 2] ^= 1
    (tmp_path / "flipped").write_bytes(bytes(raw))
    with pytest.raises(SealedFileError):
        open_sealed(tmp_path / "flipped", key)
    # Cut after the first chunk: what is left is not the whole file, and says so.
    header = 9 + 4 + 8
    first_len = int.from_bytes(raw[header : header + 4], "big")
    (tmp_path / "cut").write_bytes(sealed.read_bytes()[: header + 4 + first_len])
    with pytest.raises(SealedFileError):
        open_sealed(tmp_path / "cut", key)


@pytest.mark.parametrize(
    ("loss", "rtt", "fps", "freezes", "level"),
    [
        (0.0, 40.0, 15.0, 0, "good"),
        (3.0, 40.0, 15.0, 0, "fair"),
        (0.0, 300.0, 15.0, 0, "fair"),
        (0.0, None, 8.0, 0, "fair"),
        (9.0, 40.0, 15.0, 0, "poor"),
        (0.0, 40.0, 15.0, 1, "poor"),
        (0.0, 600.0, 30.0, 0, "poor"),
    ],
)
def test_quality_grades(
    loss: float, rtt: float | None, fps: float, freezes: int, level: str
) -> None:
    assert grade(loss, rtt, fps, freezes, QualityLimits()) == level
