"""RtpHeaderWriter against aiortc's RtpPacket.serialize, byte for byte."""

from __future__ import annotations

import random
from typing import Any

import pytest
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from media.rtp_fastpath import RtpHeaderWriter, extension_ids
from media.rtp_rewrite import StreamRewriter, _seq_delta
from tests.media.negotiation import random_extensions

_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
_ABS = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_TOFFSET = "urn:ietf:params:rtp-hdrext:toffset"


def _parameters(rng: random.Random) -> RTCRtpSendParameters:
    extensions = random_extensions(rng, (_MID, _ABS, _LEVEL, _TOFFSET), present=0.8, one_byte=0.8)
    rng.shuffle(extensions)
    return RTCRtpSendParameters(headerExtensions=extensions)


def _mid(rng: random.Random) -> str | None:
    choice = rng.random()
    if choice < 0.1:
        return None
    if choice < 0.15:
        return "x" * rng.randint(17, 40)  # too long for the one-byte form
    return str(rng.randint(0, 30))


@pytest.mark.parametrize("seed", range(60))
def test_matches_aiortc_serialize(seed: int) -> None:
    rng = random.Random(seed)
    parameters = _parameters(rng)
    ext_map = HeaderExtensionsMap()
    ext_map.configure(parameters)
    payload_type = rng.randint(0, 127)
    ssrc = rng.getrandbits(32)
    mid = _mid(rng)
    writer = RtpHeaderWriter(
        payload_type=payload_type, ssrc=ssrc, mid=mid, ids=extension_ids(parameters)
    )
    for _ in range(50):
        marker = rng.randint(0, 1)
        seq = rng.getrandbits(16)
        ts = rng.getrandbits(32)
        payload = rng.randbytes(rng.randint(0, 1200))
        abs_send_time = rng.getrandbits(24)
        audio_level = (rng.random() < 0.5, rng.randint(0, 127)) if rng.random() < 0.5 else None
        padding = rng.randint(1, 40) if rng.random() < 0.1 else 0

        packet = RtpPacket(
            payload_type=payload_type,
            marker=marker,
            sequence_number=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=payload,
        )
        packet.padding_size = padding
        packet.extensions.mid = mid
        packet.extensions.abs_send_time = abs_send_time
        packet.extensions.audio_level = audio_level
        expected = packet.serialize(ext_map)

        got = writer.serialize(
            marker=marker,
            sequence_number=seq,
            timestamp=ts,
            payload=payload,
            abs_send_time=abs_send_time,
            audio_level=audio_level,
            padding_size=padding,
        )
        assert len(got) == len(expected)
        if padding:
            # Padding bytes are random except the last one (the count).
            assert got[:-padding] == expected[:-padding]
            assert got[-1] == expected[-1] == padding
        else:
            assert got == expected
            # The forwarding path writes the header straight into its SRTP buffer.
            buffer = memoryview(bytearray(1600))
            size = writer.write_header(buffer, marker, seq, ts, abs_send_time, audio_level)
            assert bytes(buffer[:size]) + payload == expected
        parsed = RtpPacket.parse(got, ext_map)
        assert parsed.sequence_number == seq and parsed.timestamp == ts
        assert parsed.marker == marker and parsed.payload == payload
        assert parsed.extensions.abs_send_time == (
            abs_send_time if extension_ids(parameters)[1] else None
        )


def _reference_map(rewriter: StreamRewriter, in_seq: int, in_ts: int, now: float) -> object:
    """StreamRewriter.map as written with `_seq_delta` (before it was inlined)."""
    r: Any = rewriter
    if not r._active or _seq_delta(in_seq, r._floor_in_seq) < 0:
        return None
    out_seq = (in_seq + r._seq_offset) % 65536
    out_ts = (in_ts + r._ts_offset) % (1 << 32)
    if _seq_delta(in_seq, r._highest_in_seq) > 0:
        r._highest_in_seq = in_seq
        if _seq_delta(in_seq, r._floor_in_seq) > 1 << 14:
            r._floor_in_seq = (in_seq - (1 << 14)) % 65536
    if r._last_out_seq is None or _seq_delta(out_seq, r._last_out_seq) > 0:
        r._last_out_seq = out_seq
        r._last_out_ts = out_ts
        r._last_out_time = now
    return out_seq, out_ts


@pytest.mark.parametrize("seed", range(10))
def test_rewriter_map_matches_the_reference(seed: int) -> None:
    rng = random.Random(seed)
    fast = StreamRewriter(90000, rng.getrandbits(16), rng.getrandbits(32))
    slow = StreamRewriter(90000, fast._initial_seq, fast._initial_ts)
    seq, ts = rng.getrandbits(16), rng.getrandbits(32)
    for rewriter in (fast, slow):
        rewriter.start(seq, ts, 1, 0.0)
    mapped = 0
    for step in range(5000):
        now = step / 100
        if rng.random() < 0.002:
            ssrc = rng.getrandbits(32)
            for rewriter in (fast, slow):
                rewriter.end_epoch()
                rewriter.start(seq, ts, ssrc, now)
        # Mostly in order, with reordering, gaps, old packets and big jumps.
        seq = (seq + rng.choice((1, 1, 1, 1, 2, 5, -3, -20, 20000, 40000))) % 65536
        ts = (ts + rng.randint(0, 3000)) % (1 << 32)
        result = fast.map(seq, ts, now)
        assert result == _reference_map(slow, seq, ts, now)
        assert vars(fast) == vars(slow)
        mapped += result is not None
    assert mapped > 2000
